"""The account row and reconciliation: our positions against the broker's.

At start-up the broker worker reconciles before it consumes anything; while the account is
``unreconciled`` or ``mismatch`` the trading gates and the broker adapter refuse to trade.
A mismatch is resolved by an operator (``POST /reconcile`` with ``adopt``), which takes
the broker's positions as the truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker.base import Broker
from realtime.sql import insert_ignore, table_of
from stonks.config import Settings
from stonks.models.orders import (
    AccountEnvironment,
    BrokerAccount,
    BrokerKind,
    ReconciliationStatus,
)
from stonks.models.portfolio import Position, PositionStatus

logger = logging.getLogger(__name__)


def account_name(settings: Settings) -> str:
    return settings.broker_account_name or f"{settings.broker}-paper"


def ensure_account(db: Engine, settings: Settings, broker: Broker) -> int:
    """The id of the configured account's row, created from the broker's balances."""
    name = account_name(settings)
    a = table_of(BrokerAccount)
    with db.begin() as conn:
        row = conn.execute(sa.select(a.c.id).where(a.c.name == name)).first()
        if row is not None:
            return int(row.id)
        state = broker.account()
        insert_ignore(conn, a, {
            "name": name, "broker": BrokerKind(settings.broker).value,
            "environment": AccountEnvironment.PAPER.value,
            "external_account_id": state.external_account_id, "cash": state.cash,
            "buying_power": state.buying_power, "equity": state.equity,
            "last_equity": state.last_equity or state.equity, "status": state.status,
            "reconciliation_status": ReconciliationStatus.UNRECONCILED.value, "raw": {},
        }, ["name"])
        return int(conn.execute(sa.select(a.c.id).where(a.c.name == name)).scalar_one())


@dataclass(frozen=True)
class Reconciliation:
    status: ReconciliationStatus
    differences: dict[str, tuple[str, str]]  # ticker → (ours, broker's)


def reconcile(
    db: Engine, broker: Broker, account_id: int, *, adopt: bool = False
) -> Reconciliation:
    """Compare positions with the broker; record the outcome on the account row."""
    theirs = {p.ticker: p for p in broker.positions()}
    state = broker.account()
    p, a = table_of(Position), table_of(BrokerAccount)
    now = datetime.now(UTC)
    with db.begin() as conn:
        ours = {r.ticker: Decimal(r.quantity) for r in conn.execute(
            sa.select(p.c.ticker, p.c.quantity).where(
                p.c.broker_account_id == account_id,
                p.c.status == PositionStatus.OPEN.value))}
        diffs = {t: (str(ours.get(t, 0)), str(theirs[t].quantity if t in theirs else 0))
                 for t in set(ours) | set(theirs)
                 if ours.get(t, Decimal(0)) != (theirs[t].quantity if t in theirs else 0)}
        if diffs and adopt:
            for ticker in diffs:
                bp = theirs.get(ticker)
                qty = bp.quantity if bp else Decimal(0)
                price = bp.avg_entry_price if bp else None
                values = {"quantity": qty, "avg_entry_price": price,
                          "cost_basis": (qty * price) if price is not None else Decimal(0),
                          "market_value": (qty * price) if price is not None else Decimal(0),
                          "status": (PositionStatus.OPEN if qty > 0 else
                                     PositionStatus.CLOSED).value, "reconciled_at": now}
                updated = conn.execute(sa.update(p).where(p.c.broker_account_id == account_id,
                                                          p.c.ticker == ticker).values(**values))
                if updated.rowcount == 0:
                    conn.execute(sa.insert(p).values(broker_account_id=account_id, ticker=ticker,
                                                     opened_at=now, **values))
            diffs = {}
        status = ReconciliationStatus.MISMATCH if diffs else ReconciliationStatus.RECONCILED
        conn.execute(sa.update(a).where(a.c.id == account_id).values(
            reconciliation_status=status.value, reconciled_at=now, synced_at=now,
            cash=state.cash, buying_power=state.buying_power, equity=state.equity,
            status=state.status))
    if diffs:
        logger.error("positions differ from the broker's; trading waits",
                     extra={"differences": diffs})
    return Reconciliation(status, diffs)
