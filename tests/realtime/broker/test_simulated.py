"""The simulated broker's book under concurrent batches, and idempotency per order id."""

from __future__ import annotations

import threading
from decimal import ROUND_DOWN, Decimal

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


def _calls(client: redis.Redis, command: str) -> int:
    stats: dict[str, dict[str, int]] = client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def test_a_batch_is_placed_in_one_round_trip_and_a_redelivery_changes_nothing(
    settings: Settings, client: redis.Redis,
) -> None:
    broker = SimulatedBroker(client, "sim", _settings(settings))
    broker.submit_many([_buy("warm")])  # this process's copy of the book is filled in
    before = {c: _calls(client, c) for c in ("evalsha", "watch", "exec", "hmget")}
    placed = broker.submit_many([_buy("a", "2"), _buy("b", "3")])
    after = {c: _calls(client, c) for c in before}
    assert after["evalsha"] - before["evalsha"] == 1
    assert all(after[c] == before[c] for c in ("watch", "exec", "hmget"))
    assert [o.status for o in placed] == [OrderStatus.FILLED, OrderStatus.FILLED]
    cash = broker.account().cash
    # Another process (a cold copy of the book) gets the same orders back, places nothing.
    again = SimulatedBroker(client, "sim", _settings(settings)).submit_many(
        [_buy("b", "3"), _buy("a", "2")])
    assert again == [placed[1], placed[0]]
    assert broker.account().cash == cash
    [position] = broker.positions()
    assert position.quantity == Decimal(6)
    assert broker.get_by_client_order_id("a") == placed[0]


def test_partial_fills_follow_the_volume_cap_slippage_and_fees(
    settings: Settings, client: redis.Redis,
) -> None:
    config = make_settings(str(settings.database_url), str(settings.redis_url),
                           simulated_starting_cash=10_000_000_000,
                           simulated_max_volume_participation=0.000001,
                           simulated_slippage_bps=10, simulated_fee_per_share=0.005)
    broker = SimulatedBroker(client, "sim", config)
    bar = broker.bars.snapshot("AAPL", TRADE_DAY)
    assert bar is not None
    cap = Decimal(str(bar.volume * 0.000001)).quantize(Decimal("0.000001"), ROUND_DOWN)
    wanted = cap * 3 + 1
    [order] = broker.submit_many([_buy("big", str(wanted))])
    price = (Decimal(str(bar.close)) * Decimal("1.001")).quantize(Decimal("0.0001"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == cap and order.filled_avg_price == price
    assert Decimal(order.raw["fee"]) == (cap * Decimal("0.005")).quantize(Decimal("0.0001"))
    assert order.raw["qty"] == str(wanted) and order.fills[0].cumulative_quantity == cap
    assert broker.open_orders() == [order]  # polling sees it as the broker stored it
    [position] = broker.positions()
    assert position.quantity == cap and position.avg_entry_price == price


def test_a_book_changed_behind_our_back_is_read_again_before_anything_is_placed(
    settings: Settings, client: redis.Redis,
) -> None:
    broker = SimulatedBroker(client, "sim", _settings(settings))
    broker.submit_many([_buy("first", "10")])
    broker.set_position("AAPL", Decimal(2), Decimal(100))  # our copy says 10 now
    too_much, fine = broker.submit_many([
        OrderRequest(client_order_id="s1", ticker="AAPL", side=OrderSide.SELL,
                     quantity=Decimal(5), as_of=TRADE_DAY),
        OrderRequest(client_order_id="s2", ticker="AAPL", side=OrderSide.SELL,
                     quantity=Decimal(2), as_of=TRADE_DAY)])
    assert too_much.status is OrderStatus.REJECTED and "2 AAPL held" in (
        too_much.reject_reason or "")
    assert fine.status is OrderStatus.FILLED
    assert broker.positions() == []
    assert broker.get_by_client_order_id("s1") is None
