"""alpaca-py against a local server speaking Alpaca's REST API: exactly-once placement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import BrokerService, BrokerUnavailable, reconcile
from realtime.messages import BrokerOrderJob
from realtime.sql import table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import Order, OrderStatus
from stonks.models.portfolio import Position
from tests.realtime.alpaca_server import AlpacaServer
from tests.realtime.conftest import TRADE_DAY, alpaca_service, make_settings


@pytest.fixture
def server() -> Iterator[AlpacaServer]:
    with AlpacaServer() as running:
        yield running


@pytest.fixture
def alpaca_settings(migrated_pg_url: str, redis_url: str, server: AlpacaServer) -> Settings:
    return make_settings(migrated_pg_url, redis_url, broker="alpaca",
                         alpaca_api_key_id="PKTEST", alpaca_secret_key="secret",
                         alpaca_base_url=server.url, broker_timeout_s=0.5)


@pytest.fixture
def service(db: Engine, redis_client: redis.Redis,
            alpaca_settings: Settings) -> Iterator[BrokerService]:
    with alpaca_service(db, redis_client, alpaca_settings) as service:
        yield service


def job(service: BrokerService, cid: str, ticker: str = "AAPL", qty: str = "4") -> BrokerOrderJob:
    return BrokerOrderJob(client_order_id=cid, broker_account_id=service.account_id,
                          ticker=ticker, side=OrderSide.BUY, quantity=Decimal(qty),
                          reference_price=Decimal(250), as_of=TRADE_DAY,
                          origin_at=datetime.now(UTC))


def rows(db: Engine, model: object) -> list[sa.Row[object]]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(table_of(model))).all())


@pytest.mark.parametrize(("status", "delay"), [(500, 0.0), (429, 0.0), (None, 1.0)],
                         ids=["500-after-accept", "429-after-accept", "timeout-after-accept"])
def test_unknown_outcome_after_acceptance_yields_exactly_one_order(
    service: BrokerService, server: AlpacaServer, db: Engine, status: int | None, delay: float,
) -> None:
    server.state.behaviour.after_accept_status = status
    server.state.behaviour.after_accept_delay_s = delay
    message = job(service, "so-rec-1")
    assert service.place(message) is OrderStatus.FILLED
    assert service.place(message) is OrderStatus.FILLED  # a redelivery changes nothing
    assert len(server.state.orders) == 1 and server.state.submissions == 1
    [order] = rows(db, Order)
    assert order.status == "filled" and order.filled_quantity == Decimal(4)
    [position] = rows(db, Position)
    assert position.quantity == Decimal(4)


def test_unreachable_broker_leaves_the_order_unknown_for_a_lookup_first_retry(
    service: BrokerService, server: AlpacaServer, db: Engine,
) -> None:
    # The server is down for the first attempt: nothing was accepted.
    server.httpd.shutdown()
    with pytest.raises(BrokerUnavailable):
        service.place(job(service, "so-rec-2"))
    [order] = rows(db, Order)
    assert order.status == "unknown"


def test_rejection_is_recorded_and_books_nothing(
    service: BrokerService, server: AlpacaServer, db: Engine,
) -> None:
    server.state.behaviour.reject_symbols = {"AAPL"}
    assert service.place(job(service, "so-rec-3")) is OrderStatus.REJECTED
    [order] = rows(db, Order)
    assert order.status == "rejected" and "insufficient buying power" in order.reject_reason
    assert rows(db, Position) == []


def test_partial_fill_then_completion_books_each_share_once(
    service: BrokerService, server: AlpacaServer, db: Engine,
) -> None:
    server.state.behaviour.fill_fraction = 0.5
    assert service.place(job(service, "so-rec-4", qty="10")) is OrderStatus.PARTIALLY_FILLED
    assert rows(db, Position)[0].quantity == Decimal(5)
    facts = service.client.xlen(redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH))
    service.sync_open_orders()  # polling with nothing new books nothing, publishes nothing
    assert rows(db, Position)[0].quantity == Decimal(5)
    assert service.client.xlen(redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH)) == facts
    server.state.complete("so-rec-4")
    service.sync_open_orders()
    [order] = rows(db, Order)
    assert order.status == "filled" and order.filled_quantity == Decimal(10)
    assert rows(db, Position)[0].quantity == Decimal(10)


def test_restart_with_positions_changed_at_the_broker_waits_for_reconciliation(
    service: BrokerService, server: AlpacaServer, db: Engine,
) -> None:
    assert service.place(job(service, "so-rec-5")) is OrderStatus.FILLED
    server.state.positions["MSFT"] = (7.0, 25.0)  # someone traded outside the system
    result = reconcile(db, service.broker, service.account_id)
    assert result.status.value == "mismatch" and "MSFT" in result.differences
    with pytest.raises(Exception, match="not reconciled"):
        service.place(job(service, "so-rec-6"))
    assert len(server.state.orders) == 1
    assert reconcile(db, service.broker, service.account_id, adopt=True).status.value == \
        "reconciled"
    assert service.place(job(service, "so-rec-6")) is OrderStatus.FILLED
