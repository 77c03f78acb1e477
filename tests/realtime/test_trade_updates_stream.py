"""Fills from Alpaca's trade_updates stream: alpaca-py's TradingStream against a local server
speaking the stream protocol, booked into a real PostgreSQL through ``BrokerService``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import BrokerService
from realtime.broker.alpaca import AlpacaBroker
from realtime.broker.trade_updates import TradeUpdatesListener, book_trade_update, stream_url
from realtime.messages import BrokerOrderJob
from realtime.sql import table_of
from realtime.workers.runtime import build_worker
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import BrokerAccount, Order, OrderEvent, OrderStatus
from stonks.models.portfolio import PortfolioSnapshot, Position
from tests.realtime.alpaca_server import AlpacaServer
from tests.realtime.alpaca_stream_server import AlpacaStreamServer, filled, trade_update
from tests.realtime.conftest import TRADE_DAY, alpaca_service, make_settings

KEY, SECRET = "PKTEST", "secret"
StartListener = Callable[..., TradeUpdatesListener]


@pytest.fixture
def server() -> Iterator[AlpacaServer]:
    with AlpacaServer() as running:
        running.state.behaviour.fill_fraction = 0.0  # orders are accepted, fills come later
        yield running


@pytest.fixture
def stream() -> Iterator[AlpacaStreamServer]:
    with AlpacaStreamServer(KEY, SECRET) as running:
        yield running


@pytest.fixture
def alpaca_settings(migrated_pg_url: str, redis_url: str, server: AlpacaServer,
                    stream: AlpacaStreamServer) -> Settings:
    return make_settings(migrated_pg_url, redis_url, broker="alpaca", alpaca_api_key_id=KEY,
                         alpaca_secret_key=SECRET, alpaca_base_url=server.url,
                         alpaca_stream_url=stream.url, broker_timeout_s=2.0)


@pytest.fixture
def service(db: Engine, redis_client: redis.Redis,
            alpaca_settings: Settings) -> Iterator[BrokerService]:
    with alpaca_service(db, redis_client, alpaca_settings) as service:
        yield service


@pytest.fixture
def start_listener(service: BrokerService, stream: AlpacaStreamServer) -> Iterator[StartListener]:
    started: list[TradeUpdatesListener] = []

    def start(secret: str = SECRET) -> TradeUpdatesListener:
        listener = TradeUpdatesListener(KEY, secret, stream.url,
                                        partial(book_trade_update, service),
                                        resync=service.sync_open_orders, timeout_s=2.0,
                                        min_backoff_s=0.05, max_backoff_s=0.2)
        listener.start()
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop(timeout_s=5)
        assert not listener.running


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.02)


def place(service: BrokerService, cid: str, ticker: str = "AAPL", qty: str = "4") -> None:
    job = BrokerOrderJob(client_order_id=cid, broker_account_id=service.account_id,
                         ticker=ticker, side=OrderSide.BUY, quantity=Decimal(qty),
                         reference_price=Decimal(250), as_of=TRADE_DAY,
                         origin_at=datetime.now(UTC))
    assert service.place(job) is OrderStatus.SUBMITTED


def rows(db: Engine, model: object, *where: Any) -> list[Any]:
    table = table_of(model)
    with db.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)).all())


def order_row(db: Engine, cid: str) -> Any:
    [row] = rows(db, Order, table_of(Order).c.client_order_id == cid)
    return row


def fills_of(db: Engine, cid: str) -> list[Any]:
    e = table_of(OrderEvent)
    return rows(db, OrderEvent, e.c.order_id == order_row(db, cid).id,
                e.c.event_key.like("fill:%"))


def status_is(db: Engine, cid: str, status: str) -> Callable[[], bool]:
    return lambda: order_row(db, cid).status == status


def listening(stream: AlpacaStreamServer, count: int = 1) -> Callable[[], bool]:
    return lambda: stream.listeners() >= count


def test_stream_url_defaults_to_the_rest_host(alpaca_settings: Settings) -> None:
    assert stream_url(alpaca_settings) == alpaca_settings.alpaca_stream_url
    rest_only = alpaca_settings.model_copy(update={"alpaca_stream_url": None})
    assert stream_url(rest_only) == alpaca_settings.alpaca_base_url.replace(
        "http://", "ws://") + "/stream"


def test_fill_on_the_stream_is_booked_without_polling(
    service: BrokerService, server: AlpacaServer, stream: AlpacaStreamServer, db: Engine,
    alpaca_settings: Settings,
) -> None:
    place(service, "so-stream-1")
    [account] = rows(db, BrokerAccount)
    snapshots_before = len(rows(db, PortfolioSnapshot))
    listener = TradeUpdatesListener.for_service(alpaca_settings, service)
    listener.start()
    try:
        wait_until(listening(stream), "the listener to listen")
        assert stream.received[0] == {"action": "authenticate",
                                      "data": {"key_id": KEY, "secret_key": SECRET}}
        assert stream.received[1] == {"action": "listen",
                                      "data": {"streams": ["trade_updates"]}}
        order = server.state.orders["so-stream-1"]
        assert stream.push(trade_update("new", order)) == 1
        stream.push(trade_update("fill", filled(order, 4, 251.0), qty=4, price=251.0))
        wait_until(status_is(db, "so-stream-1", "filled"), "the fill to be booked")
    finally:
        listener.stop()
    assert server.state.orders["so-stream-1"]["status"] == "new"  # REST never said filled
    row = order_row(db, "so-stream-1")
    assert row.filled_quantity == Decimal(4) and row.filled_avg_price == Decimal(251)
    [fill] = fills_of(db, "so-stream-1")
    assert (fill.fill_quantity, fill.fill_price, fill.event_type) == \
        (Decimal(4), Decimal(251), "fill")
    [position] = rows(db, Position)
    assert position.quantity == Decimal(4) and position.avg_entry_price == Decimal(251)
    [after] = rows(db, BrokerAccount)
    assert after.cash == account.cash - Decimal(4 * 251)
    assert len(rows(db, PortfolioSnapshot)) == snapshots_before + 1


def test_partial_fill_then_fill_books_each_increment(
    service: BrokerService, server: AlpacaServer, stream: AlpacaStreamServer, db: Engine,
    start_listener: StartListener,
) -> None:
    place(service, "so-stream-2", qty="10")
    start_listener()
    wait_until(listening(stream), "the listener to listen")
    order = server.state.orders["so-stream-2"]
    stream.push(trade_update("partial_fill", filled(order, 4, 250.0), qty=4, price=250.0))
    wait_until(status_is(db, "so-stream-2", "partially_filled"), "the partial fill")
    assert rows(db, Position)[0].quantity == Decimal(4)
    # 6 more at 252.5: the order's average becomes 251.5
    stream.push(trade_update("fill", filled(order, 10, 251.5), qty=6, price=252.5))
    wait_until(status_is(db, "so-stream-2", "filled"), "the fill")
    assert [(f.fill_quantity, f.fill_price) for f in fills_of(db, "so-stream-2")] == \
        [(Decimal(4), Decimal(250)), (Decimal(6), Decimal("252.5"))]
    [position] = rows(db, Position)
    assert position.quantity == Decimal(10) and position.cost_basis == Decimal(2515)


def test_the_same_fill_pushed_twice_is_booked_once(
    service: BrokerService, server: AlpacaServer, stream: AlpacaStreamServer, db: Engine,
    start_listener: StartListener,
) -> None:
    place(service, "so-stream-3")
    place(service, "so-stream-4", ticker="MSFT", qty="2")
    snapshots_before = len(rows(db, PortfolioSnapshot))
    start_listener()
    wait_until(listening(stream), "the listener to listen")
    twice = trade_update("fill", filled(server.state.orders["so-stream-3"], 4, 250.0),
                         qty=4, price=250.0)
    stream.push(twice)
    stream.push(twice)
    # Updates are booked in order, so once the next one is booked the repeat was handled.
    stream.push(trade_update("fill", filled(server.state.orders["so-stream-4"], 2, 30.0),
                             qty=2, price=30.0))
    wait_until(status_is(db, "so-stream-4", "filled"), "the later fill")
    assert len(fills_of(db, "so-stream-3")) == 1
    assert {p.ticker: p.quantity for p in rows(db, Position)} == \
        {"AAPL": Decimal(4), "MSFT": Decimal(2)}
    assert len(rows(db, PortfolioSnapshot)) == snapshots_before + 2


def test_a_fill_for_an_order_that_is_not_ours_is_ignored(
    service: BrokerService, server: AlpacaServer, stream: AlpacaStreamServer, db: Engine,
    start_listener: StartListener, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime.broker.trade_updates")
    place(service, "so-stream-5")
    start_listener()
    wait_until(listening(stream), "the listener to listen")
    by_hand = server.state.order_json("MSFT", 3.0, "buy", "placed-by-hand")
    stream.push(trade_update("fill", filled(by_hand, 3, 30.0), qty=3, price=30.0))
    stream.push(trade_update("fill", filled(server.state.orders["so-stream-5"], 4, 250.0),
                             qty=4, price=250.0))
    wait_until(status_is(db, "so-stream-5", "filled"), "our fill")
    assert rows(db, Order, table_of(Order).c.client_order_id == "placed-by-hand") == []
    assert [p.ticker for p in rows(db, Position)] == ["AAPL"]
    assert any("not ours" in r.getMessage()
               and getattr(r, "client_order_id", None) == "placed-by-hand"
               for r in caplog.records)


def test_refused_credentials_stop_the_listener_with_a_clear_error(
    stream: AlpacaStreamServer, start_listener: StartListener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = start_listener(secret="not-the-secret")
    wait_until(lambda: not listener.running, "the refused listener to stop")
    assert listener.unauthorized and listener.connections == 0
    assert stream.auth_attempts == 1  # a refusal is not retried
    assert any(r.levelno == logging.ERROR and "refused the credentials" in r.getMessage()
               for r in caplog.records)


def test_after_a_dropped_connection_the_listener_reconnects_and_polls_what_it_missed(
    service: BrokerService, server: AlpacaServer, stream: AlpacaStreamServer, db: Engine,
    start_listener: StartListener,
) -> None:
    place(service, "so-stream-6")
    listener = start_listener()
    wait_until(listening(stream), "the listener to listen")
    stream.refuse(True)
    stream.drop()
    server.state.complete("so-stream-6")  # filled at the broker while we are away ...
    missed = trade_update("fill", server.state.orders["so-stream-6"], qty=4, price=250.0)
    assert stream.push(missed) == 0  # ... and its event is lost
    time.sleep(0.5)  # a few refused reconnects
    assert order_row(db, "so-stream-6").status == "submitted"
    stream.refuse(False)
    wait_until(status_is(db, "so-stream-6", "filled"), "the poll after reconnecting")
    assert listener.connections == 2
    [fill] = fills_of(db, "so-stream-6")
    assert fill.fill_quantity == Decimal(4)
    wait_until(listening(stream), "the listener to listen again")
    stream.push(missed)  # replayed later on the stream: already booked
    place(service, "so-stream-7", ticker="MSFT", qty="1")
    stream.push(trade_update("fill", filled(server.state.orders["so-stream-7"], 1, 30.0),
                             qty=1, price=30.0))
    wait_until(status_is(db, "so-stream-7", "filled"), "a fill after the reconnect")
    assert len(fills_of(db, "so-stream-6")) == 1


def test_a_malformed_frame_is_logged_and_the_listener_carries_on(
    service: BrokerService, server: AlpacaServer, stream: AlpacaStreamServer, db: Engine,
    start_listener: StartListener, caplog: pytest.LogCaptureFixture,
) -> None:
    place(service, "so-stream-8")
    listener = start_listener()
    wait_until(listening(stream), "the listener to listen")
    order = server.state.orders["so-stream-8"]
    stream.push_raw(b'{"stream": "trade_updates", "data": {"event": "fi')  # truncated
    stream.push({"event": "fill"})  # no order, no timestamp
    stream.push(trade_update("fill", order, qty=4, price=250.0))  # a fill with nothing filled
    stream.push(trade_update("fill", filled(order, 4, 250.0), qty=4, price=250.0))
    wait_until(status_is(db, "so-stream-8", "filled"), "the good fill after the bad frames")
    assert listener.running and listener.connections == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.name == "alpaca.trading.stream" and "Unterminated string" in r.getMessage()
               for r in errors)
    dropped = [r for r in errors if r.name == "realtime.broker.trade_updates"
               and "malformed trade update" in r.getMessage()]
    assert len(dropped) == 2
    assert "no filled_qty" in dropped[1].getMessage()
    assert len(fills_of(db, "so-stream-8")) == 1


def test_the_broker_worker_books_stream_fills_when_the_broker_is_alpaca(
    alpaca_settings: Settings, db: Engine, redis_client: redis.Redis, server: AlpacaServer,
    stream: AlpacaStreamServer,
) -> None:
    worker = build_worker(redis_keys.QueueName.BROKER_ORDERS.value, "test-broker",
                          alpaca_settings, db, redis_client)
    try:
        wait_until(listening(stream), "the worker's listener to listen")
        [account] = rows(db, BrokerAccount)
        service = BrokerService(db, redis_client, alpaca_settings,
                                AlpacaBroker.from_settings(alpaca_settings), account.id,
                                "alpaca-paper")
        place(service, "so-stream-9")
        stream.push(trade_update("fill", filled(server.state.orders["so-stream-9"], 4, 250.0),
                                 qty=4, price=250.0))
        wait_until(status_is(db, "so-stream-9", "filled"), "the worker to book the fill")
        service.broker.close()
    finally:
        for close in worker.closers:
            close()
    wait_until(lambda: stream.listeners() == 0, "the closed worker to stop listening")
