"""The simulated broker's book under concurrent batches, and idempotency per order id."""

from __future__ import annotations

import threading
from decimal import Decimal

import redis

from realtime.broker.base import OrderRequest
from realtime.broker.simulated import SimulatedBroker
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import OrderStatus
from tests.realtime.conftest import TRADE_DAY, make_settings


def _settings(settings: Settings) -> Settings:
    return make_settings(str(settings.database_url), str(settings.redis_url),
                         simulated_starting_cash=1_000_000,
                         simulated_max_volume_participation=1e9)


def _buy(cid: str, qty: str = "1") -> OrderRequest:
    return OrderRequest(client_order_id=cid, ticker="AAPL", side=OrderSide.BUY,
                        quantity=Decimal(qty), as_of=TRADE_DAY)


def test_concurrent_batches_keep_the_book_consistent(settings: Settings,
                                                      client: redis.Redis) -> None:
    config = _settings(settings)
    brokers = [SimulatedBroker(client, "sim", config) for _ in range(2)]
    results: list[list[Decimal]] = [[], []]

    def place(worker: int) -> None:
        for batch in range(20):
            placed = brokers[worker].submit_many(
                [_buy(f"w{worker}-{batch}-{i}") for i in range(5)])
            results[worker] += [o.filled_quantity * (o.filled_avg_price or 0)
                                + Decimal(o.raw["fee"]) for o in placed]

    threads = [threading.Thread(target=place, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    [position] = brokers[0].positions()
    assert position.quantity == Decimal(200)  # 2 workers, 20 batches of 5 orders of 1 share
    spent = sum(results[0] + results[1], Decimal(0))
    assert brokers[0].account().cash == Decimal(1_000_000) - spent


def test_the_same_client_order_id_is_one_order_and_a_bad_one_is_rejected_alone(
    settings: Settings, client: redis.Redis,
) -> None:
    broker = SimulatedBroker(client, "sim", _settings(settings))
    first = broker.submit_many([_buy("same", "3")])[0]
    again, sell, other = broker.submit_many([
        _buy("same", "3"),
        OrderRequest(client_order_id="too-much", ticker="AAPL", side=OrderSide.SELL,
                     quantity=Decimal(50), as_of=TRADE_DAY),
        _buy("other", "2")])
    assert again == first
    assert sell.status is OrderStatus.REJECTED and "insufficient" in (sell.reject_reason or "")
    assert other.status is OrderStatus.FILLED
    [position] = broker.positions()
    assert position.quantity == Decimal(5)
