"""The account as the gates see it: balances, open positions, P&L of the day, drawdown."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.sql import table_of
from stonks.models.orders import BrokerAccount, ReconciliationStatus
from stonks.models.portfolio import PortfolioSnapshot, Position, PositionStatus
from stonks.models.risk import ReservePoolLedgerEntry, RiskTierHistory


@dataclass(frozen=True)
class HeldPosition:
    ticker: str
    quantity: Decimal
    market_value: Decimal
    sector: str | None


@dataclass(frozen=True)
class PortfolioState:
    """Everything the trading gates and ``evaluate_order`` need about one account."""

    account_id: int
    account_name: str
    cash: Decimal
    equity: Decimal
    reconciled: bool
    positions: dict[str, HeldPosition] = field(default_factory=dict)
    day_pl: Decimal = Decimal(0)
    drawdown: Decimal = Decimal(0)
    high_water_mark: Decimal | None = None
    tier: str | None = None  # the newest risk_tier_history row's; None before the first
    reserve: Decimal = Decimal(0)  # the reserve pool's balance (not trading capital)

    def sector_value(self, sector: str | None) -> Decimal:
        """The market value held in ``sector`` (0 for an unknown sector)."""
        if sector is None:
            return Decimal(0)
        return self._sector_values.get(sector, Decimal(0))

    def with_position(self, position: HeldPosition, cash: Decimal) -> PortfolioState:
        """This state with ``position`` held in place of its ticker's and ``cash`` left.
        Sector totals summed already are carried over, moved by the one position (an
        order's gate asks for them again after every order of its batch)."""
        positions = dict(self.positions)
        before = positions.get(position.ticker)
        positions[position.ticker] = position
        moved = replace(self, positions=positions, cash=cash)
        if "_sector_values" in self.__dict__:
            totals = dict(self._sector_values)
            if before is not None and before.sector is not None:
                totals[before.sector] -= before.market_value
            if position.sector is not None:
                totals[position.sector] = (totals.get(position.sector, Decimal(0))
                                           + position.market_value)
            moved.__dict__["_sector_values"] = totals  # what cached_property would store
        return moved

    @functools.cached_property
    def _sector_values(self) -> dict[str, Decimal]:
        # Summed once per state: every gate and order evaluation of a batch asks for it.
        # (A frozen dataclass without slots: cached_property writes the instance's dict.)
        totals: dict[str, Decimal] = {}
        for p in self.positions.values():
            if p.sector is not None:
                totals[p.sector] = totals.get(p.sector, Decimal(0)) + p.market_value
        return totals


@functools.cache
def _portfolio_queries() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The two reads of ``load_portfolio``, built once (bound by ``account_id``): the account
    with its newest snapshot, tier and reserve balance as scalar subqueries, and the open
    positions."""
    a, p, s = table_of(BrokerAccount), table_of(Position), table_of(PortfolioSnapshot)
    t, r = table_of(RiskTierHistory), table_of(ReservePoolLedgerEntry)
    account: sa.BindParameter[int] = sa.bindparam("account_id")

    def newest(column: Any, table: sa.Table, order: Any, label: str) -> Any:
        return (sa.select(column).where(table.c.broker_account_id == a.c.id)
                .order_by(order.desc()).limit(1).scalar_subquery().label(label))

    return (
        sa.select(a.c.name, a.c.cash, a.c.equity, a.c.reconciliation_status,
                  newest(s.c.id, s, s.c.taken_at, "snapshot_id"),
                  newest(s.c.day_pl, s, s.c.taken_at, "day_pl"),
                  newest(s.c.drawdown, s, s.c.taken_at, "drawdown"),
                  newest(s.c.high_water_mark, s, s.c.taken_at, "high_water_mark"),
                  newest(t.c.tier, t, t.c.effective_from, "tier"),
                  newest(r.c.balance_after, r, r.c.id, "reserve"))
        .where(a.c.id == account),
        sa.select(p.c.ticker, p.c.quantity, p.c.market_value, p.c.cost_basis, p.c.sector)
        .where(p.c.broker_account_id == account, p.c.status == PositionStatus.OPEN.value),
    )


def load_portfolio(conn: sa.Connection, account_id: int) -> PortfolioState:
    """The account as the gates see it, in two statements."""
    accounts, open_positions = _portfolio_queries()
    bound = {"account_id": account_id}
    account = conn.execute(accounts, bound).one()
    rows = conn.execute(open_positions, bound).all()
    positions = {r.ticker: HeldPosition(r.ticker, Decimal(r.quantity),
                                        Decimal(r.market_value if r.market_value is not None
                                                else r.cost_basis), r.sector) for r in rows}
    return portfolio_state(
        account_id, name=account.name, cash=account.cash, equity=account.equity,
        reconciliation_status=account.reconciliation_status, positions=positions,
        snapshot_id=account.snapshot_id, day_pl=account.day_pl, drawdown=account.drawdown,
        high_water_mark=account.high_water_mark, tier=account.tier, reserve=account.reserve)


def portfolio_state(account_id: int, *, name: str, cash: Any, equity: Any,
                    reconciliation_status: str, positions: dict[str, HeldPosition],
                    snapshot_id: Any, day_pl: Any, drawdown: Any, high_water_mark: Any,
                    tier: Any, reserve: Any) -> PortfolioState:
    """A ``PortfolioState`` from the account's columns and its newest snapshot, tier and
    reserve balance (None where there is none): the one place that reads them, whichever
    statement fetched them."""
    snapshot = snapshot_id is not None
    return PortfolioState(
        account_id=account_id, account_name=name, cash=Decimal(cash), equity=Decimal(equity),
        reconciled=reconciliation_status == ReconciliationStatus.RECONCILED.value,
        positions=positions,
        day_pl=Decimal(day_pl) if snapshot else Decimal(0),
        drawdown=Decimal(drawdown or 0) if snapshot else Decimal(0),
        high_water_mark=Decimal(high_water_mark) if high_water_mark is not None else None,
        tier=None if tier is None else str(tier),
        reserve=Decimal(reserve) if reserve is not None else Decimal(0),
    )


#: The account as ``load_portfolio`` reads it, for PostgreSQL statements of the hot path:
#: select items over ``broker_accounts a`` joined with ``PORTFOLIO_SNAPSHOT_PG`` (``s``),
#: read back by ``portfolio_from_pg`` (the open positions as one JSON array, numbers as
#: their exact text).
PORTFOLIO_COLUMNS_PG = f"""
a.name, a.cash, a.equity, a.reconciliation_status, s.id, s.day_pl, s.drawdown,
s.high_water_mark,
(SELECT t.tier FROM risk_tier_history t WHERE t.broker_account_id = a.id
 ORDER BY t.effective_from DESC LIMIT 1),
(SELECT l.balance_after FROM reserve_pool_ledger l WHERE l.broker_account_id = a.id
 ORDER BY l.id DESC LIMIT 1),
(SELECT json_agg(json_build_array(p.ticker, p.quantity::text,
                                  coalesce(p.market_value, p.cost_basis)::text, p.sector))
 FROM positions p WHERE p.broker_account_id = a.id
 AND p.status = '{PositionStatus.OPEN.value}')"""
#: The newest snapshot of the account ``a``, as ``s``.
PORTFOLIO_SNAPSHOT_PG = """
LEFT JOIN LATERAL (
    SELECT id, day_pl, drawdown, high_water_mark FROM portfolio_snapshots
    WHERE broker_account_id = a.id ORDER BY taken_at DESC LIMIT 1) s ON true"""


def portfolio_from_pg(account_id: int, columns: Sequence[Any]) -> PortfolioState:
    """The ``PortfolioState`` of the values of ``PORTFOLIO_COLUMNS_PG`` (what
    ``load_portfolio`` returns)."""
    (name, cash, equity, reconciliation, snapshot_id, day_pl, drawdown, high_water_mark,
     tier, reserve, positions) = columns
    held = {p[0]: HeldPosition(p[0], Decimal(p[1]), Decimal(p[2]), p[3])
            for p in positions or ()}
    return portfolio_state(
        account_id, name=name, cash=cash, equity=equity, reconciliation_status=reconciliation,
        positions=held, snapshot_id=snapshot_id, day_pl=day_pl, drawdown=drawdown,
        high_water_mark=high_water_mark, tier=tier, reserve=reserve)


def consecutive_losses(conn: sa.Connection, account_id: int) -> int:
    """Losing closed sells in a row, newest first (from the fill events)."""
    p = table_of(Position)
    rows = conn.execute(sa.select(p.c.realized_pl).where(
        p.c.broker_account_id == account_id, p.c.status == "closed")
        .order_by(p.c.closed_at.desc()).limit(50)).all()
    count = 0
    for row in rows:
        if Decimal(row.realized_pl) >= 0:
            break
        count += 1
    return count
