"""Booking the broker's view of orders: concurrent first fills, late views, replays."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import ensure_account, make_broker
from realtime.broker.base import BrokerOrder, Fill
from realtime.broker.ledger import apply_broker_orders
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import Order, OrderEvent, OrderStatus
from stonks.models.portfolio import Position


def _account(db: Engine, settings: Settings, client: redis.Redis) -> int:
    return ensure_account(db, settings, make_broker(settings, client))


def _order(db: Engine, account_id: int, cid: str, qty: str = "10") -> int:
    o = table_of(Order)
    with db.begin() as conn:
        return int(conn.execute(sa.insert(o).values(
            client_order_id=cid, broker_account_id=account_id, ticker="AAPL", side="buy",
            quantity=Decimal(qty), status=OrderStatus.SUBMITTED.value, raw={},
        ).returning(o.c.id)).scalar_one())


def _filled(cid: str, qty: str, price: str) -> BrokerOrder:
    q, p = Decimal(qty), Decimal(price)
    return BrokerOrder(f"b-{cid}", cid, "AAPL", OrderSide.BUY, OrderStatus.FILLED, q, p,
                       fills=(Fill(f"{cid}-1", q, p, Decimal("0.01"), datetime.now(UTC), q),))


def _rows(db: Engine, model: object) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(table_of(model))).all())


def test_two_workers_opening_the_same_position_at_once_add_up_in_one_row(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    account = _account(db, settings, client)
    first_id, second_id = _order(db, account, "c1"), _order(db, account, "c2", qty="5")
    first = db.connect()
    transaction = first.begin()
    apply_broker_orders(first, [(first_id, _filled("c1", "10", "100"), None)])
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with db.begin() as conn:
                apply_broker_orders(conn, [(second_id, _filled("c2", "5", "110"), None)])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # its insert waits on the first one's uncommitted row
    transaction.commit()
    first.close()
    worker.join(10)
    assert not errors
    [position] = _rows(db, Position)
    assert position.quantity == Decimal(15)
    assert position.cost_basis == Decimal("1550.02")  # 10 x 100 + 5 x 110 + two fees
    assert position.status == "open"


def test_a_late_older_view_never_moves_an_order_back_and_a_replay_books_nothing(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    account = _account(db, settings, client)
    order_id = _order(db, account, "c3")
    filled = _filled("c3", "10", "100")
    with db.begin() as conn:
        assert len(apply_broker_orders(conn, [(order_id, filled, None)])) == 1
    accepted = BrokerOrder("b-c3", "c3", "AAPL", OrderSide.BUY, OrderStatus.SUBMITTED,
                           Decimal(0), None)
    with db.begin() as conn:  # the submit response arrives after the stream's fill
        assert apply_broker_orders(conn, [(order_id, accepted, None), (order_id, filled, None)]
                                   ) == []
    [order] = _rows(db, Order)
    assert order.status == "filled" and order.filled_quantity == Decimal(10)
    assert order.fees == Decimal("0.01")  # the fee of the one fill, once
    assert [e.event_key for e in _rows(db, OrderEvent)] == ["fill:c3-1"]
    [position] = _rows(db, Position)
    assert position.quantity == Decimal(10)
