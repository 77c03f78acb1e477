"""Placing through the simulated broker: the intent is committed before the one submission
round trip, and a job redelivered after a crash at the broker places and books once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import BrokerService, SimulatedBroker, ensure_account, reconcile
from realtime.broker.base import BrokerOrder, OrderRequest
from realtime.messages import BrokerOrderJob
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import BrokerAccount, Order, OrderEvent, OrderStatus
from stonks.models.portfolio import PortfolioSnapshot, Position
from stonks.models.risk import RiskEvaluation
from tests.realtime.conftest import TRADE_DAY, make_settings


class _Crash(Exception):
    """The worker dies right after the broker accepted the orders."""


class _WatchedBroker(SimulatedBroker):
    """The simulated broker, noting what the database holds when it is called, and able
    to 'crash' after placing."""

    def __init__(self, db: Engine, *args: Any) -> None:
        super().__init__(*args)
        self.db = db
        self.seen: list[tuple[str, str]] = []
        self.calls = 0
        self.crash = False
        self.looking = False  # its own look at the database

    def submit_many(self, requests: Sequence[OrderRequest]) -> list[BrokerOrder]:
        self.calls += 1
        o = table_of(Order)
        self.looking = True
        with self.db.connect() as conn:  # another connection: only committed rows
            self.seen = [(str(r.client_order_id), str(r.status)) for r in conn.execute(
                sa.select(o.c.client_order_id, o.c.status))]
        self.looking = False
        placed = super().submit_many(requests)
        if self.crash:
            raise _Crash
        return placed


def _service(db: Engine, settings: Settings, client: redis.Redis,
             ) -> tuple[BrokerService, _WatchedBroker]:
    config = make_settings(str(settings.database_url), str(settings.redis_url),
                           simulated_max_volume_participation=1e9,
                           risk_max_position_fraction=1.0, risk_max_sector_fraction=1.0)
    broker = _WatchedBroker(db, client, "simulated-paper", config)
    account_id = ensure_account(db, config, broker)
    reconcile(db, broker, account_id)
    return BrokerService(db, client, config, broker, account_id, "simulated-paper"), broker


def _job(service: BrokerService, cid: str, qty: str = "3") -> BrokerOrderJob:
    return BrokerOrderJob(client_order_id=cid, broker_account_id=service.account_id,
                          ticker="AAPL", side=OrderSide.BUY, quantity=Decimal(qty),
                          reference_price=Decimal(250), as_of=TRADE_DAY,
                          origin_at=datetime.now(UTC))


def _rows(db: Engine, model: object) -> list[Any]:
    with db.connect() as conn:
        t = table_of(model)
        return list(conn.execute(sa.select(t).order_by(t.c.id)).all())


def test_the_intent_is_committed_before_the_broker_is_called_in_few_statements(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    service, broker = _service(db, settings, client)
    assert service.place(_job(service, "c0")) is OrderStatus.FILLED  # first: records a tier
    before: list[str] = []  # the statements before the broker is called again, and after
    after: list[str] = []

    def count(*args: Any) -> None:
        # leaving out the statements a connection prepares once in its life
        once = ("PREPARE ", "DEALLOCATE ALL")
        if not str(args[2]).startswith(once) and not broker.looking:
            (before if broker.calls == 1 else after).append(str(args[2]))

    sa.event.listen(db, "before_cursor_execute", count)
    try:
        assert service.place(_job(service, "c1")) is OrderStatus.FILLED
    finally:
        sa.event.remove(db, "before_cursor_execute", count)
    assert broker.seen == [("c0", "filled"), ("c1", "submitting")]
    # the orders already written with the account, then the intents; the booking's read
    # under its locks, then its writes with the commit
    assert len(before) == 2 and len(after) == 2, (before, after)
    order = _rows(db, Order)[1]
    assert order.status == "filled" and order.filled_at is not None
    keys = [e.event_key for e in _rows(db, OrderEvent)]
    assert keys[0] == "intent" and "fill:sim-c1-1" in keys and "status:filled" in keys
    evaluation = _rows(db, RiskEvaluation)[1]
    assert evaluation.approved and evaluation.order_id == order.id


def test_the_breaker_state_read_with_the_batch_gates_it_and_only_it(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    # The consumer reads the breaker along with the batch (``ReadAlong``): tripped then,
    # the batch is rejected; the next batch reads the state again (not tripped).
    service, broker = _service(db, settings, client)
    service.breaker.take_replies([{b"tripped": b"1", b"breaker": b"daily_loss",
                           b"reason": b"lost 3%"}])
    assert service.place(_job(service, "t1")) is OrderStatus.REJECTED
    assert service.place(_job(service, "t2")) is OrderStatus.FILLED
    assert broker.calls == 1
    rejected = _rows(db, Order)[0]
    assert rejected.client_order_id == "t1" and "daily_loss" in rejected.reject_reason


def test_a_job_redelivered_after_a_crash_at_the_broker_places_and_books_once(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    service, broker = _service(db, settings, client)
    broker.crash = True
    try:
        service.place_many([_job(service, "c2"), _job(service, "c3", "2")])
    except _Crash:
        pass
    else:
        raise AssertionError("the broker did not crash")
    cash = broker.account().cash
    broker.crash = False
    assert service.place_many([_job(service, "c2"), _job(service, "c3", "2")]) == [
        OrderStatus.FILLED, OrderStatus.FILLED]
    assert service.place(_job(service, "c2")) is OrderStatus.FILLED  # and once more
    assert broker.account().cash == cash  # placed once, at the first attempt
    [position] = _rows(db, Position)
    assert position.quantity == Decimal(5)
    fills = [e.event_key for e in _rows(db, OrderEvent) if e.event_key.startswith("fill:")]
    assert sorted(fills) == ["fill:sim-c2-1", "fill:sim-c3-1"]
    assert len(_rows(db, RiskEvaluation)) == 2  # gated once each


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_buys_then_a_sell_are_placed_and_booked_on_both_dialects(
    dialect: str, request: pytest.FixtureRequest, redis_url: str, client: redis.Redis,
) -> None:
    if dialect == "sqlite":
        db, url = request.getfixturevalue("sqlite_db"), request.getfixturevalue("sqlite_url")
    else:
        db, url = request.getfixturevalue("db"), request.getfixturevalue("migrated_pg_url")
    service, broker = _service(db, make_settings(url, redis_url), client)
    assert service.place_many([_job(service, "b1"), _job(service, "b2", "2")]) == [
        OrderStatus.FILLED, OrderStatus.FILLED]
    [position] = _rows(db, Position)
    assert position.quantity == Decimal(5) and position.status == "open"
    cash = broker.account().cash
    sell = BrokerOrderJob(client_order_id="s1", broker_account_id=service.account_id,
                          ticker="AAPL", side=OrderSide.SELL, quantity=Decimal(5),
                          reference_price=Decimal(250), as_of=TRADE_DAY,
                          origin_at=datetime.now(UTC))
    assert service.place(sell) is OrderStatus.FILLED  # a sell: the transactional path
    [position] = _rows(db, Position)
    assert position.quantity == Decimal(0) and position.status == "closed"
    orders = _rows(db, Order)
    assert [(o.client_order_id, o.status) for o in orders] == [
        ("b1", "filled"), ("b2", "filled"), ("s1", "filled")]
    events = {(e.order_id, e.event_key) for e in _rows(db, OrderEvent)}
    for o in orders:
        assert {(o.id, "intent"), (o.id, "status:filled"),
                (o.id, f"fill:sim-{o.client_order_id}-1")} <= events
    assert len(_rows(db, RiskEvaluation)) == 3
    a = table_of(BrokerAccount)
    with db.connect() as conn:
        booked_cash = conn.execute(sa.select(a.c.cash).where(
            a.c.id == service.account_id)).scalar_one()
    assert booked_cash.quantize(Decimal("0.01")) == broker.account().cash.quantize(
        Decimal("0.01"))
    assert broker.account().cash > cash
    assert len(_rows(db, PortfolioSnapshot)) == 2  # one per booking batch with fills
