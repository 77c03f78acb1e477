"""Applying the broker's view of an order to our books.

Fills become ``order_events`` rows keyed by the broker's execution id, so replaying a
trade-update stream or a poll never books a fill twice; each new fill moves the position,
the account's cash and equity, and appends a ``portfolio_snapshots`` row.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.broker.base import BrokerOrder, Fill
from realtime.prepared import prepared_names
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
    events, fills = _plan(orders, results, status_events=status_events, now=datetime.now(UTC))
    new: set[tuple[int, str]] = set()
    if events:
        new = {(int(i), str(k)) for i, k in conn.execute(
            insert_statement(conn, oe).on_conflict_do_nothing(
                index_elements=["order_id", "event_key"]).returning(oe.c.order_id,
                                                                   oe.c.event_key),
            list(events.values()))}
    fills = [f for f in fills if (f[0], f"fill:{f[1].execution_id}") in new]
    booked, positions = _move_positions(conn, orders, fills)
    rows = _order_rows(orders, results, booked, datetime.now(UTC))
    columns = [c for c in next(iter(rows.values())) if c != "_id"]
    conn.execute(sa.update(o).where(o.c.id == sa.bindparam("_id"))
                 .values({c: sa.bindparam(c) for c in columns}), list(rows.values()))
    return Booking(booked, positions)


def _plan(orders: Mapping[int, Any],
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


def _order_rows(orders: Mapping[int, Any],
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


_POSITION_COLUMNS = (
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
                             _move(state, orders[i], fill, exits)) for i, fill, exits in fills]
        missing = [t for t in tickers if t not in existing]
        inserted: dict[str, int] = {}
        if missing:
            rows = [{"broker_account_id": account_id, "ticker": t,
                     **{c: state[t].get(c) for c in _POSITION_COLUMNS}} for t in missing]
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
    updates = [{"_id": state[t]["id"], **{c: state[t].get(c) for c in _POSITION_COLUMNS}}
               for t in tickers if t in existing]
    if updates:
        conn.execute(sa.update(p).where(p.c.id == sa.bindparam("_id"))
                     .values({c: sa.bindparam(c) for c in _POSITION_COLUMNS}), updates)
    return booked, [state[t] for t in tickers]


def _move(state: dict[str, dict[str, Any]], order: Any, fill: Fill,
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
    balances, snapshot = _account_rows(
        account_id, account, [(r.sector, r.market_value, r.unrealized_pl, 1) for r in positions],
        booked, datetime.now(UTC))
    conn.execute(sa.update(a).where(a.c.id == account_id).values(**balances))
    insert_ignore(conn, s, snapshot, ["broker_account_id", "taken_at"])


#: Open positions summed by sector: sector, market value, unrealised P&L, how many.
_Group = tuple[str | None, Any, Any, int]


def _account_rows(account_id: int, account: Any, positions: Sequence[_Group],
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


# --- PostgreSQL (psycopg2): the booking in two round trips ------------------------------
#
# ``book_and_account_pg`` does what ``book_broker_orders`` (with status events) followed by
# ``update_account`` does in one transaction, for batches without sells, in two round trips
# of hand-written SQL on a connection in autocommit mode: the transaction is opened, the
# rows are locked in the same order as the transactional path (orders by id, the batch's
# positions by ticker, then the account) and, in a second statement whose snapshot is
# taken once the locks are held, everything the booking needs is read; then every write
# and the COMMIT go as one string. Which fills are new is read under the order locks (fill
# events are only written by a booking holding them), and the fill events and new
# positions are inserted without ON CONFLICT: if that was wrong (a concurrent worker
# opened the position first) the statement fails, nothing is written, and the caller books
# the batch on the transactional path, which waits and re-applies.
#
# The three statements are prepared once per connection (their text never changes: the
# rows travel as JSON documents), so the server neither parses nor plans them again.

#: Locks in the transactional path's order: $1 order ids, $2 account. (The positions are
#: those of the orders' tickers as we have them, whatever symbol the broker reported.)
_LOCK_PG = """
SELECT count(*) FROM (
SELECT 1 FROM (SELECT 1 FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE) o
UNION ALL
SELECT 1 FROM (SELECT 1 FROM positions WHERE broker_account_id = $2
               AND ticker IN (SELECT ticker FROM orders WHERE id = ANY($1))
               ORDER BY ticker FOR UPDATE) p
UNION ALL
SELECT 1 FROM (SELECT 1 FROM broker_accounts WHERE id = $2 FOR NO KEY UPDATE) a
) locked"""

#: What the booking reads once the locks are held ($3: the event keys it may add): the
#: orders, the batch's positions, the other open positions summed by sector, the account,
#: the events that exist, and an id for each ticker without a position.
_READ_PG = """
SELECT 'o', (to_jsonb(o) - 'raw')::text, o.raw::text FROM orders o WHERE o.id = ANY($1)
UNION ALL
SELECT 'p', (to_jsonb(p) - 'targets')::text, p.targets::text FROM positions p
WHERE p.broker_account_id = $2 AND p.ticker IN (SELECT ticker FROM orders WHERE id = ANY($1))
UNION ALL
SELECT 's', json_build_object('sector', p.sector, 'value', sum(COALESCE(p.market_value, 0)),
                              'pl', sum(COALESCE(p.unrealized_pl, 0)), 'n', count(*))::text,
       NULL
FROM positions p
WHERE p.broker_account_id = $2 AND p.status = 'open'
  AND p.ticker NOT IN (SELECT ticker FROM orders WHERE id = ANY($1))
GROUP BY p.sector
UNION ALL
SELECT 'a', json_build_object(
    'cash', a.cash, 'last_equity', a.last_equity,
    'high_water_mark', (SELECT s.high_water_mark FROM portfolio_snapshots s
                        WHERE s.broker_account_id = a.id ORDER BY s.taken_at DESC LIMIT 1)
    )::text, NULL FROM broker_accounts a WHERE a.id = $2
UNION ALL
SELECT 'e', e.order_id::text, e.event_key FROM order_events e
WHERE e.order_id = ANY($1) AND e.event_key = ANY($3)
UNION ALL
SELECT 'n', t.ticker, nextval(pg_get_serial_sequence('positions', 'id'))::text
FROM (SELECT DISTINCT ticker FROM orders WHERE id = ANY($1)) AS t
WHERE NOT EXISTS (SELECT 1 FROM positions q WHERE q.broker_account_id = $2
                  AND q.ticker = t.ticker)"""

_EVENT_COLUMNS = (
    ("created_at", "timestamptz"), ("order_id", "bigint"), ("event_key", "text"),
    ("event_type", "text"), ("status_after", "text"), ("fill_quantity", "numeric"),
    ("fill_price", "numeric"), ("fee", "numeric"), ("cumulative_quantity", "numeric"),
    ("occurred_at", "timestamptz"), ("payload", "json"),
)
_POSITION_TYPES = (
    ("quantity", "numeric"), ("cost_basis", "numeric"), ("avg_entry_price", "numeric"),
    ("market_price", "numeric"), ("market_value", "numeric"), ("unrealized_pl", "numeric"),
    ("realized_pl", "numeric"), ("status", "text"), ("closed_at", "timestamptz"),
    ("updated_at", "timestamptz"), ("opened_at", "timestamptz"), ("entry_order_id", "bigint"),
    ("sector", "text"), ("stop_loss", "numeric"), ("take_profit", "numeric"),
    ("targets", "json"), ("trailing_atr_multiple", "double precision"),
    ("trailing_stop", "numeric"), ("high_water_price", "numeric"),
)
assert tuple(c for c, _ in _POSITION_TYPES) == _POSITION_COLUMNS
_NEW_POSITION_TYPES = (("id", "bigint"), ("broker_account_id", "bigint"), ("ticker", "text"),
                       ("created_at", "timestamptz"), *_POSITION_TYPES)
_ORDER_TYPES = (
    ("status", "text"), ("broker_order_id", "text"), ("filled_quantity", "numeric"),
    ("filled_avg_price", "numeric"), ("raw", "json"), ("fees", "numeric"),
    ("filled_at", "timestamptz"), ("reject_reason", "text"), ("updated_at", "timestamptz"),
)
_ACCOUNT_TYPES = (("cash", "numeric"), ("equity", "numeric"), ("buying_power", "numeric"),
                  ("updated_at", "timestamptz"))
_SNAPSHOT_TYPES = (
    ("created_at", "timestamptz"), ("broker_account_id", "bigint"),
    ("taken_at", "timestamptz"), ("cash", "numeric"), ("equity", "numeric"),
    ("positions_value", "numeric"), ("buying_power", "numeric"), ("unrealized_pl", "numeric"),
    ("realized_pl_day", "numeric"), ("day_pl", "numeric"), ("high_water_mark", "numeric"),
    ("drawdown", "numeric"), ("open_positions", "integer"), ("sector_exposure", "json"),
    ("details", "json"),
)


def _fields(types: Sequence[tuple[str, str]], offset: int = 0) -> str:
    """The columns of a row of a JSON document ``r`` (an array), cast to their types."""
    return ", ".join(f"r->{n + offset}" if t == "json" else f"(r->>{n + offset})::{t}"
                     for n, (_, t) in enumerate(types))


def _names(types: Sequence[tuple[str, str]]) -> str:
    return ", ".join(c for c, _ in types)


def _sets(types: Sequence[tuple[str, str]]) -> str:
    """``column = value`` for the row ``r`` of an UPDATE's document (its id first)."""
    return ", ".join(f"{c} = {v}" for (c, _), v in zip(types, _fields(types, 1).split(", "),
                                                       strict=True))


#: Every write of a booking, each fed by one JSON document (an array of rows, each row an
#: array of values): $1 fill events (all new), $2 status events, $3 new positions (ids
#: drawn by ``_READ_PG``), $4 moved positions, $5 orders, $6 the account, $7 its snapshot.
_WRITE_PG = f"""
WITH fe AS (
    INSERT INTO order_events ({_names(_EVENT_COLUMNS)})
    SELECT {_fields(_EVENT_COLUMNS)} FROM json_array_elements($1) AS r
), se AS (
    INSERT INTO order_events ({_names(_EVENT_COLUMNS)})
    SELECT {_fields(_EVENT_COLUMNS)} FROM json_array_elements($2) AS r
    ON CONFLICT (order_id, event_key) DO NOTHING
), pi AS (
    INSERT INTO positions ({_names(_NEW_POSITION_TYPES)})
    SELECT {_fields(_NEW_POSITION_TYPES)} FROM json_array_elements($3) AS r
), pu AS (
    UPDATE positions SET {_sets(_POSITION_TYPES)}
    FROM json_array_elements($4) AS r WHERE id = (r->>0)::bigint
), ou AS (
    UPDATE orders SET {_sets(_ORDER_TYPES)}
    FROM json_array_elements($5) AS r WHERE id = (r->>0)::bigint
), au AS (
    UPDATE broker_accounts SET {_sets(_ACCOUNT_TYPES)}
    FROM json_array_elements($6) AS r WHERE id = (r->>0)::bigint
)
INSERT INTO portfolio_snapshots ({_names(_SNAPSHOT_TYPES)})
SELECT {_fields(_SNAPSHOT_TYPES)} FROM json_array_elements($7) AS r
ON CONFLICT (broker_account_id, taken_at) DO NOTHING"""

#: The prepared statements: name, parameter types, text.
_PREPARED = (
    ("stonks_booking_lock", "bigint[], bigint", _LOCK_PG),
    ("stonks_booking_read", "bigint[], bigint, text[]", _READ_PG),
    ("stonks_booking_write", "json, json, json, json, json, json, json", _WRITE_PG),
)
#: Run the prepared statements with their generic plan (planned once): by default the
#: server keeps planning array and JSON parameters anew every time (its generic cost
#: estimate looks worse), which costs more than running them. Local to the transaction.
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
_RUN_READ = (f"BEGIN; {GENERIC_PLANS}; EXECUTE stonks_booking_lock(%(ids)s, %(account)s); "
             "EXECUTE stonks_booking_read(%(ids)s, %(account)s, %(keys)s)")
_RUN_WRITE = "EXECUTE stonks_booking_write(%s, %s, %s, %s, %s, %s, %s); COMMIT"
_TIMESTAMPS = frozenset({"filled_at", "opened_at", "closed_at", "created_at", "updated_at",
                         "reconciled_at", "submitted_at", "approved_at", "canceled_at"})


class _Row(dict[str, Any]):
    """A row read as JSON: its columns as attributes too (like a SQLAlchemy ``Row``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _json_row(text: str) -> _Row:
    row = _Row(json.loads(text, parse_float=Decimal))
    for key in _TIMESTAMPS & row.keys():
        if row[key] is not None:
            row[key] = datetime.fromisoformat(row[key])
    if row.get("trailing_atr_multiple") is not None:
        row["trailing_atr_multiple"] = float(row["trailing_atr_multiple"])
    return row


def _document_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as the column type refuses it on the other path
            raise ValueError(f"naive datetime {value.isoformat()} refused")
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


#: A JSON document of rows for the prepared statements: decimals as their exact text,
#: timestamps in ISO form (aware ones only), the rest as JSON has it.
document = json.JSONEncoder(default=_document_value, allow_nan=False,
                            separators=(",", ":")).encode


def book_and_account_pg(
    conn: sa.Connection, account_id: int,
    results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
) -> Booking | None:
    """``book_broker_orders(..., status_events=True)`` then ``update_account`` for the
    fills, committed, in two round trips (PostgreSQL through psycopg2, ``conn`` in
    autocommit mode, no sell among the fills); None when a concurrent booking got in the
    way and nothing was written (book the batch on the transactional path then)."""
    if not results:
        return Booking([], [])
    ids = sorted({i for i, _, _ in results})
    keys = sorted({f"fill:{f.execution_id}" for _, r, _ in results for f in r.fills}
                  | {f"status:{r.status.value}" for _, r, _ in results})
    prepare_once(conn, _PREPARED)
    try:
        read = conn.exec_driver_sql(_RUN_READ, {"ids": ids, "account": account_id,
                                                "keys": keys}).all()
        params, booking = _booking_pg(account_id, results, read)
        conn.exec_driver_sql(_RUN_WRITE, params)
    except sa.exc.IntegrityError:
        _rollback(conn)
        return None
    except BaseException:
        forget_prepared(conn, _PREPARED)  # looked for again next time, in case they are gone
        _rollback(conn)
        raise
    return booking


def prepare_once(conn: sa.Connection, statements: Sequence[tuple[str, str, str]]) -> None:
    """Prepare ``statements`` (name, parameter types, text) on ``conn``'s session unless it
    has them already (``realtime.prepared`` keeps the names, and drops them all now and
    then to re-plan; the server is asked the first time, so a statement prepared before is
    never prepared twice)."""
    names = prepared_names(conn)
    wanted = [name for name, _, _ in statements if name not in names]
    if not wanted:
        return
    have = set(conn.exec_driver_sql(
        "SELECT name FROM pg_prepared_statements WHERE name = ANY(%(names)s)",
        {"names": wanted}).scalars())
    missing = [f"PREPARE {name} ({types}) AS {text}" for name, types, text in statements
               if name in wanted and name not in have]
    if missing:
        conn.exec_driver_sql(";\n".join(missing), execution_options={"no_parameters": True})
    names.update(wanted)


def forget_prepared(conn: sa.Connection, statements: Sequence[tuple[str, str, str]]) -> None:
    """Look ``statements`` up again before their next use on ``conn`` (after an error)."""
    with contextlib.suppress(sa.exc.SQLAlchemyError):  # a broken connection: a new one
        prepared_names(conn).difference_update(name for name, _, _ in statements)


def _rollback(conn: sa.Connection) -> None:
    """End the transaction the fast path opened; a connection where that fails is closed
    rather than pooled with a transaction open."""
    try:
        conn.exec_driver_sql("ROLLBACK")
    except Exception:  # the connection is broken: never hand it out again
        logger.warning("rollback after a failed booking failed; dropping the connection")
        conn.invalidate()


def _booking_pg(account_id: int,
                results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
                read: Sequence[Any]) -> tuple[tuple[str, ...], Booking]:
    """The documents of ``_WRITE_PG`` and the booking they make, from what ``_READ_PG``
    read."""
    orders: dict[int, _Row] = {}
    held: dict[str, _Row] = {}
    account: _Row | None = None
    existing: set[tuple[int, str]] = set()
    fresh: dict[str, int] = {}  # ticker without a position → the id its row will get
    groups: list[_Group] = []  # the other open positions, by sector
    for kind, first, second in read:
        if kind == "o":
            row = _json_row(first)
            row["raw"] = json.loads(second) if second is not None else None
            if row["broker_account_id"] != account_id:
                raise ValueError(f"order {row['id']} is not of account {account_id}")
            orders[int(row["id"])] = row
        elif kind == "p":
            row = _json_row(first)
            row["targets"] = json.loads(second) if second is not None else []
            held[str(row["ticker"])] = row
        elif kind == "s":
            group = _json_row(first)
            groups.append((group["sector"], group["value"], group["pl"], int(group["n"])))
        elif kind == "a":
            account = _json_row(first)
        elif kind == "e":
            existing.add((int(first), str(second)))
        else:
            fresh[str(first)] = int(second)
    if account is None:
        raise LookupError(f"broker account {account_id} not found")
    now = datetime.now(UTC)
    events, fills = _plan(orders, results, status_events=True, now=now)
    events = {k: e for k, e in events.items() if k not in existing}
    fills = [f for f in fills if (f[0], f"fill:{f[1].execution_id}") in events]
    tickers = sorted({str(orders[i].ticker) for i, _, _ in fills})
    state: dict[str, dict[str, Any]] = {t: dict(held[t]) for t in tickers if t in held}
    booked = [BookedFill(i, orders[i].ticker, OrderSide(orders[i].side), fill,
                         _move(state, orders[i], fill, exits)) for i, fill, exits in fills]
    for ticker in tickers:
        if ticker not in held:
            state[ticker].update(id=fresh[ticker], broker_account_id=account_id,
                                 ticker=ticker, created_at=now)
    fill_events: list[list[Any]] = []
    status_events: list[list[Any]] = []
    for (_, key), event in events.items():
        (fill_events if key.startswith("fill:") else status_events).append(
            [now, *(event[c] for c, _ in _EVENT_COLUMNS[1:])])
    opened = [[state[t].get(c) for c, _ in _NEW_POSITION_TYPES] for t in tickers if t not in held]
    moved = [[state[t]["id"], *(state[t].get(c) for c in _POSITION_COLUMNS)]
             for t in tickers if t in held]
    order_rows = [[order_id, *(row[c] for c, _ in _ORDER_TYPES)]
                  for order_id, row in _order_rows(orders, results, booked, now).items()]
    balances: list[list[Any]] = []
    snapshots: list[list[Any]] = []
    if booked:
        # The positions of the batch as they are now (moved or not), and the others.
        groups += [(r.get("sector"), r.get("market_value"), r.get("unrealized_pl"), 1)
                   for r in ({**held, **state}).values()
                   if r["status"] == PositionStatus.OPEN.value]
        account_values, snapshot = _account_rows(account_id, account, groups, booked, now)
        snapshot["created_at"] = now
        balances = [[account_id, *(account_values[c] for c, _ in _ACCOUNT_TYPES)]]
        snapshots = [[snapshot[c] for c, _ in _SNAPSHOT_TYPES]]
    documents = tuple(document(d) for d in (fill_events, status_events, opened, moved,
                                             order_rows, balances, snapshots))
    return documents, Booking(booked, [state[t] for t in tickers])
