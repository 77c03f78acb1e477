"""Applying the broker's view of an order to our books.

Fills become ``order_events`` rows keyed by the broker's execution id, so replaying a
trade-update stream or a poll never books a fill twice; each new fill moves the position,
the account's cash and equity, and appends a ``portfolio_snapshots`` row. This module holds
the portable booking through SQLAlchemy (``book_broker_orders``, ``update_account``,
``mark_to_market``) and the calculations every path shares (``plan``, ``order_rows``,
``apply_fill``, ``account_rows``); the PostgreSQL fast path built on them is
``realtime.broker.ledger_pg``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.broker.base import BrokerOrder, Fill
from realtime.sql import insert_ignore, insert_statement, table_of
from stonks.models.enums import OrderSide
from stonks.models.orders import BrokerAccount, Order, OrderEvent, OrderStatus
from stonks.models.portfolio import PortfolioSnapshot, Position, PositionStatus

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
#: How far along its life an order is; a broker view never moves an order back.
_STAGE = {OrderStatus.SUBMITTED: 1, OrderStatus.PARTIALLY_FILLED: 2,
          OrderStatus.PENDING_CANCEL: 2, OrderStatus.FILLED: 3, OrderStatus.CANCELED: 3,
          OrderStatus.EXPIRED: 3, OrderStatus.REJECTED: 3}


@dataclass(frozen=True)
class BookedFill:
    """A fill that was new to our books, with the P&L it realised (sells)."""

    order_id: int
    ticker: str
    side: OrderSide
    fill: Fill
    realized_pl: Decimal


def record_event(conn: sa.Connection, order_id: int, key: str, event_type: str,
                 status: OrderStatus | None, payload: dict[str, Any] | None = None) -> bool:
    """Append one of our own order events (once per key); True if it was new."""
    return insert_ignore(conn, table_of(OrderEvent), {
        "order_id": order_id, "event_key": key, "event_type": event_type,
        "status_after": None if status is None else status.value,
        "occurred_at": datetime.now(UTC), "payload": payload or {},
    }, ["order_id", "event_key"]) is not None


@dataclass(frozen=True)
class Booking:
    """What ``book_broker_orders`` did: the new fills, and the rows of the positions they
    moved as written (column → value, ``id`` included)."""

    booked: list[BookedFill]
    positions: list[dict[str, Any]]


def apply_broker_orders(
    conn: sa.Connection, results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
) -> list[BookedFill]:
    """``book_broker_orders`` without status events; the fills that were new."""
    return book_broker_orders(conn, results).booked


def book_broker_orders(
    conn: sa.Connection, results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
    *, status_events: bool = False,
) -> Booking:
    """Bring our order rows to the broker's state and book every fill not booked yet.

    A constant number of statements for the whole batch: the orders and the positions they
    touch are locked in id/ticker order (so concurrent workers cannot deadlock), the fill
    events are inserted at once (the ones that existed are skipped, which makes a replayed
    trade update or poll a no-op), positions and orders are written in bulk. The caller
    updates the account (``update_account``) once for the batch. With ``status_events``
    every result also records a ``status:<status>`` event (once per order and status), in
    the same statement as the fills."""
    if not results:
        return Booking([], [])
    o, oe = table_of(Order), table_of(OrderEvent)
    orders = {int(r.id): r for r in conn.execute(
        sa.select(o).where(o.c.id.in_(sorted({i for i, _, _ in results})))
        .order_by(o.c.id).with_for_update())}
    events, fills = plan(orders, results, status_events=status_events, now=datetime.now(UTC))
    new: set[tuple[int, str]] = set()
    if events:
        new = {(int(i), str(k)) for i, k in conn.execute(
            insert_statement(conn, oe).on_conflict_do_nothing(
                index_elements=["order_id", "event_key"]).returning(oe.c.order_id,
                                                                   oe.c.event_key),
            list(events.values()))}
    fills = [f for f in fills if (f[0], f"fill:{f[1].execution_id}") in new]
    booked, positions = _move_positions(conn, orders, fills)
    rows = order_rows(orders, results, booked, datetime.now(UTC))
    columns = [c for c in next(iter(rows.values())) if c != "_id"]
    conn.execute(sa.update(o).where(o.c.id == sa.bindparam("_id"))
                 .values({c: sa.bindparam(c) for c in columns}), list(rows.values()))
    return Booking(booked, positions)


def plan(orders: Mapping[int, Any],
          results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]], *,
          status_events: bool, now: datetime,
          ) -> tuple[dict[tuple[int, str], dict[str, Any]], list[tuple[int, Fill, dict[str, Any]]]]:
    """The events ``results`` would add to the locked ``orders`` (by (order id, key)) and
    the fills beyond each order's booked progress, in order (new unless their event
    exists already)."""
    progress = {i: (Decimal(r.filled_quantity or 0), Decimal(r.filled_avg_price or 0))
                for i, r in orders.items()}
    fills: list[tuple[int, Fill, dict[str, Any]]] = []
    events: dict[tuple[int, str], dict[str, Any]] = {}
    for order_id, result, exits in results:
        so_far, so_far_avg = progress[order_id]
        for reported in result.fills:
            # Brokers polled report cumulative fills: book only the increment beyond ours.
            if reported.cumulative_quantity <= so_far:
                continue
            delta = reported.cumulative_quantity - so_far
            price = ((reported.cumulative_quantity * reported.price - so_far * so_far_avg)
                     / delta).quantize(Decimal("0.00000001"))
            fill = Fill(reported.execution_id, delta, price, reported.fee,
                        reported.occurred_at, reported.cumulative_quantity)
            so_far, so_far_avg = reported.cumulative_quantity, reported.price
            key = (order_id, f"fill:{fill.execution_id}")
            if key in events:
                continue
            events[key] = {
                "order_id": order_id, "event_key": key[1],
                "event_type": "fill" if result.status is OrderStatus.FILLED else "partial_fill",
                "status_after": result.status.value, "fill_quantity": fill.quantity,
                "fill_price": fill.price, "fee": fill.fee,
                "cumulative_quantity": fill.cumulative_quantity,
                "occurred_at": fill.occurred_at, "payload": {"execution_id": fill.execution_id},
            }
            fills.append((order_id, fill, exits or {}))
        progress[order_id] = (so_far, so_far_avg)
    if status_events:
        for order_id, result, _ in results:
            key = (order_id, f"status:{result.status.value}")
            events.setdefault(key, {
                "order_id": order_id, "event_key": key[1], "event_type": result.status.value,
                "status_after": result.status.value, "fill_quantity": None,
                "fill_price": None, "fee": None, "cumulative_quantity": None,
                "occurred_at": now, "payload": {"broker_order_id": result.broker_order_id}})
    return events, fills


def order_rows(orders: Mapping[int, Any],
                results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
                booked: list[BookedFill], now: datetime) -> dict[int, dict[str, Any]]:
    """The new values of every order of ``results`` (``_id`` its id): the broker's view,
    never moving an order back, with the fees of the fills booked."""
    fees: dict[int, Decimal] = {}
    for b in booked:
        fees[b.order_id] = fees.get(b.order_id, Decimal(0)) + b.fill.fee
    rows: dict[int, dict[str, Any]] = {}
    for order_id, result, _ in results:  # a later result for the same order wins
        order = orders[order_id]
        current = rows.get(order_id, {}).get("status", order.status)
        if _STAGE.get(OrderStatus(current), 0) > _STAGE.get(result.status, 0):
            # An older view arriving late (a submit response after the stream's fill, a
            # stale poll): its fills were booked above, but the status never goes back.
            result = replace(result, status=OrderStatus(current),
                             filled_quantity=max(result.filled_quantity,
                                                 Decimal(order.filled_quantity or 0)),
                             filled_avg_price=(result.filled_avg_price
                                               or order.filled_avg_price))
        filled_at = order.filled_at
        if result.status is OrderStatus.FILLED and filled_at is None:
            filled_at = max(f.occurred_at for f in result.fills) if result.fills else now
        rows[order_id] = {
            "_id": order_id, "status": result.status.value,
            "broker_order_id": result.broker_order_id,
            "filled_quantity": result.filled_quantity,
            "filled_avg_price": result.filled_avg_price,
            "raw": {**(order.raw or {}), "broker": _jsonable(result.raw)},
            "fees": Decimal(order.fees) + fees.get(order_id, Decimal(0)),
            "filled_at": filled_at,
            "reject_reason": (result.reject_reason if result.status is OrderStatus.REJECTED
                              else order.reject_reason),
            "updated_at": now,
        }
    return rows


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float | bool | type(None)) else str(v))
            for k, v in raw.items()}


POSITION_COLUMNS = (
    "quantity", "cost_basis", "avg_entry_price", "market_price", "market_value",
    "unrealized_pl", "realized_pl", "status", "closed_at", "updated_at", "opened_at",
    "entry_order_id", "sector", "stop_loss", "take_profit", "targets",
    "trailing_atr_multiple", "trailing_stop", "high_water_price",
)


def _move_positions(conn: sa.Connection, orders: dict[int, Any],
                    fills: list[tuple[int, Fill, dict[str, Any]]],
                    ) -> tuple[list[BookedFill], list[dict[str, Any]]]:
    """Move the positions by ``fills`` (in order); the fills with the P&L they realised,
    and the rows of the positions as written.

    Existing rows are locked and updated; a ticker without a row is inserted, and if a
    concurrent worker inserted it first, its row is locked and the fills are re-applied on
    top of it (never a lost update)."""
    if not fills:
        return [], []
    p = table_of(Position)
    account_id = int(orders[fills[0][0]].broker_account_id)
    tickers = sorted({str(orders[i].ticker) for i, _, _ in fills})
    while True:
        state = {str(r.ticker): dict(r._mapping) for r in conn.execute(
            sa.select(p).where(p.c.broker_account_id == account_id, p.c.ticker.in_(tickers))
            .order_by(p.c.ticker).with_for_update())}
        existing = set(state)
        booked = [BookedFill(i, orders[i].ticker, OrderSide(orders[i].side), fill,
                             apply_fill(state, orders[i], fill, exits)) for i, fill, exits in fills]
        missing = [t for t in tickers if t not in existing]
        inserted: dict[str, int] = {}
        if missing:
            rows = [{"broker_account_id": account_id, "ticker": t,
                     **{c: state[t].get(c) for c in POSITION_COLUMNS}} for t in missing]
            inserted = {str(t): int(i) for t, i in conn.execute(
                insert_statement(conn, p).on_conflict_do_nothing(
                    index_elements=["broker_account_id", "ticker"]).returning(p.c.ticker,
                                                                             p.c.id),
                rows)}
        if set(inserted) == set(missing):
            for ticker, position_id in inserted.items():
                state[ticker].update(id=position_id, broker_account_id=account_id,
                                     ticker=ticker)
            break
        # Another worker opened one of these positions meanwhile: undo ours, start over.
        conn.execute(sa.delete(p).where(p.c.broker_account_id == account_id,
                                        p.c.ticker.in_(sorted(inserted))))
    updates = [{"_id": state[t]["id"], **{c: state[t].get(c) for c in POSITION_COLUMNS}}
               for t in tickers if t in existing]
    if updates:
        conn.execute(sa.update(p).where(p.c.id == sa.bindparam("_id"))
                     .values({c: sa.bindparam(c) for c in POSITION_COLUMNS}), updates)
    return booked, [state[t] for t in tickers]


def apply_fill(state: dict[str, dict[str, Any]], order: Any, fill: Fill,
          exits: dict[str, Any]) -> Decimal:
    """Apply one fill to the in-memory position of its ticker; the P&L it realised."""
    row = state.get(order.ticker)
    is_open_row = row is not None and row.get("status") == PositionStatus.OPEN.value
    now = datetime.now(UTC)
    qty = Decimal(row["quantity"]) if row is not None and is_open_row else Decimal(0)
    cost = Decimal(row["cost_basis"]) if row is not None and is_open_row else Decimal(0)
    realized = Decimal(row["realized_pl"] or 0) if row is not None else Decimal(0)
    gained = Decimal(0)
    if order.side == OrderSide.BUY.value:
        qty += fill.quantity
        cost += fill.quantity * fill.price + fill.fee
    else:
        avg = cost / qty if qty else fill.price
        sold = min(fill.quantity, qty)
        gained = sold * (fill.price - avg) - fill.fee
        cost -= sold * avg
        qty -= sold
        realized += gained
    is_open = qty > 0
    values: dict[str, Any] = dict(row) if row is not None else {
        "sector": (order.raw or {}).get("sector"), "opened_at": now, "entry_order_id": order.id,
        "targets": [],
    }
    values.update({
        "quantity": qty, "cost_basis": cost.quantize(CENT),
        "avg_entry_price": (cost / qty).quantize(Decimal("0.00000001")) if is_open else None,
        "market_price": fill.price, "market_value": (qty * fill.price).quantize(CENT),
        "unrealized_pl": (qty * fill.price - cost).quantize(CENT), "realized_pl": realized,
        "status": (PositionStatus.OPEN if is_open else PositionStatus.CLOSED).value,
        "closed_at": None if is_open else now, "updated_at": now,
    })
    if row is not None and not is_open_row and is_open:
        values.update(opened_at=now, entry_order_id=order.id)
    if order.side == OrderSide.BUY.value and exits:
        stop = exits.get("stop_loss")
        targets = exits.get("targets") or []
        values.update(stop_loss=None if stop is None else Decimal(str(stop)),
                      take_profit=Decimal(str(targets[0])) if targets else None,
                      targets=[str(t) for t in targets],
                      trailing_atr_multiple=exits.get("trailing_atr_multiple"),
                      trailing_stop=(None if exits.get("trailing_stop") is None
                                     else Decimal(str(exits["trailing_stop"]))),
                      high_water_price=fill.price)
    state[order.ticker] = values
    return gained


def mark_to_market(conn: sa.Connection, account_id: int,
                   price_of: Callable[[str], Decimal | None]) -> bool:
    """Value the account's open positions at ``price_of(ticker)`` (the last close; None to
    leave one as it is): market price and value, unrealised P&L, then the account's equity
    and a snapshot, so the daily-loss and drawdown breakers see losses that are not
    realised yet. True if any position's price moved (nothing is written otherwise)."""
    p = table_of(Position)
    rows = conn.execute(sa.select(p.c.id, p.c.ticker, p.c.quantity, p.c.cost_basis,
                                  p.c.market_price)
                        .where(p.c.broker_account_id == account_id,
                               p.c.status == PositionStatus.OPEN.value)
                        .order_by(p.c.ticker).with_for_update()).all()
    now = datetime.now(UTC)
    updates = []
    for r in rows:
        price = price_of(r.ticker)
        if price is None or (r.market_price is not None and Decimal(r.market_price) == price):
            continue
        value = Decimal(r.quantity) * price
        updates.append({"_id": r.id, "market_price": price, "market_value": value.quantize(CENT),
                        "unrealized_pl": (value - Decimal(r.cost_basis)).quantize(CENT),
                        "updated_at": now})
    if not updates:
        return False
    conn.execute(sa.update(p).where(p.c.id == sa.bindparam("_id")).values(
        {c: sa.bindparam(c) for c in ("market_price", "market_value", "unrealized_pl",
                                      "updated_at")}), updates)
    update_account(conn, account_id, [])
    return True


@functools.cache
def _account_query() -> sa.Select[Any]:
    """The account's balances with its newest snapshot's high-water mark, locked FOR NO KEY
    UPDATE (what updating them takes): bookings wait for each other, while inserting rows
    that reference the account (an order's intent, a position) does not wait for them."""
    a, s = table_of(BrokerAccount), table_of(PortfolioSnapshot)
    hwm = (sa.select(s.c.high_water_mark).where(s.c.broker_account_id == a.c.id)
           .order_by(s.c.taken_at.desc()).limit(1).scalar_subquery())
    return (sa.select(a.c.cash, a.c.last_equity, hwm.label("high_water_mark"))
            .where(a.c.id == sa.bindparam("account")).with_for_update(of=a, key_share=True))


def update_account(conn: sa.Connection, account_id: int, booked: list[BookedFill]) -> None:
    """Move the account's cash and equity by ``booked`` and append a portfolio snapshot."""
    a, p, s = table_of(BrokerAccount), table_of(Position), table_of(PortfolioSnapshot)
    account = conn.execute(_account_query(), {"account": account_id}).one()
    positions = conn.execute(sa.select(p.c.market_value, p.c.unrealized_pl, p.c.sector)
                             .where(p.c.broker_account_id == account_id,
                                    p.c.status == PositionStatus.OPEN.value)).all()
    balances, snapshot = account_rows(
        account_id, account, [(r.sector, r.market_value, r.unrealized_pl, 1) for r in positions],
        booked, datetime.now(UTC))
    conn.execute(sa.update(a).where(a.c.id == account_id).values(**balances))
    insert_ignore(conn, s, snapshot, ["broker_account_id", "taken_at"])


#: Open positions summed by sector: sector, market value, unrealised P&L, how many.
Group = tuple[str | None, Any, Any, int]


def account_rows(account_id: int, account: Any, positions: Sequence[Group],
                  booked: list[BookedFill], now: datetime,
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The account's new balances and its snapshot row, from its locked balances
    (``cash``, ``last_equity``, newest ``high_water_mark``), its open positions after the
    fills (summed in any grouping: a position is a group of one) and the fills."""
    cash = Decimal(account.cash)
    for b in booked:
        amount = b.fill.quantity * b.fill.price
        cash += (-amount if b.side is OrderSide.BUY else amount) - b.fill.fee
    value = sum((Decimal(r[1] or 0) for r in positions), Decimal(0))
    equity = cash + value
    balances = {"cash": cash.quantize(CENT), "equity": equity.quantize(CENT),
                "buying_power": cash.quantize(CENT), "updated_at": now}
    hwm = max(equity, Decimal(account.high_water_mark)
              if account.high_water_mark is not None else equity)
    sectors: dict[str, Decimal] = {}
    for r in positions:
        key = r[0] or "unknown"
        sectors[key] = sectors.get(key, Decimal(0)) + Decimal(r[1] or 0)
    start = Decimal(account.last_equity) if account.last_equity is not None else equity
    snapshot = {
        "broker_account_id": account_id, "taken_at": now,
        "cash": cash.quantize(CENT), "equity": equity.quantize(CENT),
        "positions_value": value.quantize(CENT), "buying_power": cash.quantize(CENT),
        "unrealized_pl": sum((Decimal(r[2] or 0) for r in positions), Decimal(0)),
        "realized_pl_day": sum((b.realized_pl for b in booked), Decimal(0)),
        "day_pl": (equity - start).quantize(CENT), "high_water_mark": hwm.quantize(CENT),
        "drawdown": ((hwm - equity) / hwm).quantize(Decimal("0.000001")) if hwm > 0 else 0,
        "open_positions": sum(r[3] for r in positions),
        "sector_exposure": {k: str((v / equity).quantize(Decimal("0.000001")))
                            for k, v in sectors.items()} if equity > 0 else {},
        "details": {"fills": len(booked), "marked_to_market": not booked},
    }
    return balances, snapshot
