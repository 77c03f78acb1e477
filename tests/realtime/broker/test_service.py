"""Placing through the simulated broker: the intent is committed before the one submission
round trip, and a job redelivered after a crash at the broker places and books once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import BrokerService, SimulatedBroker, ensure_account, reconcile
from realtime.broker.base import BrokerOrder, OrderRequest
from realtime.messages import BrokerOrderJob
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import Order, OrderEvent, OrderStatus
from stonks.models.portfolio import Position
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

    def submit_many(self, requests: Sequence[OrderRequest]) -> list[BrokerOrder]:
        self.calls += 1
        o = table_of(Order)
        with self.db.connect() as conn:  # another connection: only committed rows
            self.seen = [(str(r.client_order_id), str(r.status)) for r in conn.execute(
                sa.select(o.c.client_order_id, o.c.status))]
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
    statements: list[str] = []

    def count(*args: Any) -> None:
        if broker.calls == 1:  # before the broker is called again
            statements.append(str(args[2]))

    sa.event.listen(db, "before_cursor_execute", count)
    try:
        assert service.place(_job(service, "c1")) is OrderStatus.FILLED
    finally:
        sa.event.remove(db, "before_cursor_execute", count)
    assert broker.seen == [("c0", "filled"), ("c1", "submitting")]
    assert len(statements) == 4  # orders already written, the account (2), the intents (PG)
    order = _rows(db, Order)[1]
    assert order.status == "filled" and order.filled_at is not None
    keys = [e.event_key for e in _rows(db, OrderEvent)]
    assert keys[0] == "intent" and "fill:sim-c1-1" in keys and "status:filled" in keys
    evaluation = _rows(db, RiskEvaluation)[1]
    assert evaluation.approved and evaluation.order_id == order.id


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
