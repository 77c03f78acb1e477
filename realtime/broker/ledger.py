"""Applying the broker's view of an order to our books.

Fills become ``order_events`` rows keyed by the broker's execution id, so replaying a
trade-update stream or a poll never books a fill twice; each new fill moves the position,
the account's cash and equity, and appends a ``portfolio_snapshots`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.broker.base import BrokerOrder, Fill
from realtime.sql import insert_ignore, table_of
from stonks.models.enums import OrderSide
from stonks.models.orders import BrokerAccount, Order, OrderEvent, OrderStatus
from stonks.models.portfolio import PortfolioSnapshot, Position, PositionStatus

CENT = Decimal("0.01")


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


def apply_broker_order(conn: sa.Connection, order_id: int, result: BrokerOrder,
                       exits: dict[str, Any] | None = None, *,
                       book_account: bool = True) -> list[BookedFill]:
    """Bring our order row to the broker's state and book every fill not booked yet.

    With ``book_account=False`` the caller updates the account (``update_account``) once
    for a batch of orders."""
    o = table_of(Order)
    order = conn.execute(sa.select(o).where(o.c.id == order_id).with_for_update()).one()
    booked: list[BookedFill] = []
    so_far = Decimal(order.filled_quantity or 0)
    so_far_avg = Decimal(order.filled_avg_price or 0)
    for reported in result.fills:
        # Brokers polled report cumulative fills: book only the increment beyond what we have.
        if reported.cumulative_quantity <= so_far:
            continue
        delta = reported.cumulative_quantity - so_far
        price = ((reported.cumulative_quantity * reported.price - so_far * so_far_avg) / delta
                 ).quantize(Decimal("0.00000001"))
        fill = Fill(reported.execution_id, delta, price, reported.fee, reported.occurred_at,
                    reported.cumulative_quantity)
        so_far, so_far_avg = reported.cumulative_quantity, reported.price
        new = insert_ignore(conn, table_of(OrderEvent), {
            "order_id": order_id, "event_key": f"fill:{fill.execution_id}",
            "event_type": "fill" if result.status is OrderStatus.FILLED else "partial_fill",
            "status_after": result.status.value, "fill_quantity": fill.quantity,
            "fill_price": fill.price, "fee": fill.fee,
            "cumulative_quantity": fill.cumulative_quantity, "occurred_at": fill.occurred_at,
            "payload": {"execution_id": fill.execution_id},
        }, ["order_id", "event_key"])
        if new is None:
            continue
        realized = _move_position(conn, order, fill, exits or {})
        booked.append(BookedFill(order_id, order.ticker, OrderSide(order.side), fill, realized))
    values: dict[str, Any] = {
        "status": result.status.value, "broker_order_id": result.broker_order_id,
        "filled_quantity": result.filled_quantity, "filled_avg_price": result.filled_avg_price,
        "raw": {**(order.raw or {}), "broker": _jsonable(result.raw)},
        "updated_at": datetime.now(UTC),
    }
    if booked:
        values["fees"] = Decimal(order.fees) + sum((b.fill.fee for b in booked), Decimal(0))
    if result.status is OrderStatus.FILLED and order.filled_at is None:
        values["filled_at"] = max(f.occurred_at for f in result.fills) if result.fills else \
            datetime.now(UTC)
    if result.status is OrderStatus.REJECTED:
        values["reject_reason"] = result.reject_reason
    conn.execute(sa.update(o).where(o.c.id == order_id).values(**values))
    if booked and book_account:
        update_account(conn, int(order.broker_account_id), booked)
    return booked


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float | bool | type(None)) else str(v))
            for k, v in raw.items()}


def _move_position(conn: sa.Connection, order: Any, fill: Fill, exits: dict[str, Any]) -> Decimal:
    p = table_of(Position)
    row = conn.execute(sa.select(p).where(p.c.broker_account_id == order.broker_account_id,
                                          p.c.ticker == order.ticker).with_for_update()).first()
    now = datetime.now(UTC)
    qty = Decimal(row.quantity) if row and row.status == PositionStatus.OPEN.value else Decimal(0)
    cost = Decimal(row.cost_basis) if row and row.status == PositionStatus.OPEN.value \
        else Decimal(0)
    realized = Decimal(row.realized_pl) if row else Decimal(0)
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
    values: dict[str, Any] = {
        "quantity": qty, "cost_basis": cost.quantize(CENT),
        "avg_entry_price": (cost / qty).quantize(Decimal("0.00000001")) if is_open else None,
        "market_price": fill.price, "market_value": (qty * fill.price).quantize(CENT),
        "unrealized_pl": (qty * fill.price - cost).quantize(CENT), "realized_pl": realized,
        "status": (PositionStatus.OPEN if is_open else PositionStatus.CLOSED).value,
        "closed_at": None if is_open else now, "updated_at": now,
    }
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
    if row is None:
        conn.execute(sa.insert(p).values(
            broker_account_id=order.broker_account_id, ticker=order.ticker,
            sector=(order.raw or {}).get("sector"), opened_at=now, entry_order_id=order.id,
            **values))
    else:
        if row.status != PositionStatus.OPEN.value and is_open:
            values.update(opened_at=now, entry_order_id=order.id)
        conn.execute(sa.update(p).where(p.c.id == row.id).values(**values))
    return gained


def update_account(conn: sa.Connection, account_id: int, booked: list[BookedFill]) -> None:
    """Move the account's cash and equity by ``booked`` and append a portfolio snapshot."""
    a, p, s = table_of(BrokerAccount), table_of(Position), table_of(PortfolioSnapshot)
    account = conn.execute(sa.select(a).where(a.c.id == account_id).with_for_update()).one()
    cash = Decimal(account.cash)
    for b in booked:
        amount = b.fill.quantity * b.fill.price
        cash += (-amount if b.side is OrderSide.BUY else amount) - b.fill.fee
    positions = conn.execute(sa.select(p.c.market_value, p.c.unrealized_pl, p.c.sector)
                             .where(p.c.broker_account_id == account_id,
                                    p.c.status == PositionStatus.OPEN.value)).all()
    value = sum((Decimal(r.market_value or 0) for r in positions), Decimal(0))
    equity = cash + value
    conn.execute(sa.update(a).where(a.c.id == account_id).values(
        cash=cash.quantize(CENT), equity=equity.quantize(CENT),
        buying_power=cash.quantize(CENT), updated_at=datetime.now(UTC)))
    last = conn.execute(sa.select(s.c.high_water_mark).where(s.c.broker_account_id == account_id)
                        .order_by(s.c.taken_at.desc()).limit(1)).first()
    hwm = max(equity, Decimal(last.high_water_mark) if last and last.high_water_mark is not None
              else equity)
    sectors: dict[str, Decimal] = {}
    for r in positions:
        key = r.sector or "unknown"
        sectors[key] = sectors.get(key, Decimal(0)) + Decimal(r.market_value or 0)
    start = Decimal(account.last_equity) if account.last_equity is not None else equity
    insert_ignore(conn, s, {
        "broker_account_id": account_id, "taken_at": datetime.now(UTC),
        "cash": cash.quantize(CENT), "equity": equity.quantize(CENT),
        "positions_value": value.quantize(CENT), "buying_power": cash.quantize(CENT),
        "unrealized_pl": sum((Decimal(r.unrealized_pl or 0) for r in positions), Decimal(0)),
        "realized_pl_day": sum((b.realized_pl for b in booked), Decimal(0)),
        "day_pl": (equity - start).quantize(CENT), "high_water_mark": hwm.quantize(CENT),
        "drawdown": ((hwm - equity) / hwm).quantize(Decimal("0.000001")) if hwm > 0 else 0,
        "open_positions": len(positions),
        "sector_exposure": {k: str((v / equity).quantize(Decimal("0.000001")))
                            for k, v in sectors.items()} if equity > 0 else {},
        "details": {"fills": len(booked)},
    }, ["broker_account_id", "taken_at"])
