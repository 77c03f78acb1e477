"""Flows through the real services in one process: exits, breaker, approvals, fallback poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker.factory import make_broker
from realtime.messages import TRADING_QUEUE
from realtime.services import ControlService
from realtime.sql import table_of
from realtime.trading.exits import ExitMonitor
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.orders import Order, TradingDecision
from stonks.models.portfolio import PortfolioSnapshot, Position
from stonks.models.risk import CircuitBreakerEvent
from stonks.queues import Producer
from stonks.weighted_signals import AggregationJob
from tests.realtime.conftest import (
    insert_macro_signal,
    insert_news_signal,
    make_settings,
    recent,
)
from tests.realtime.pipeline import build_all, drain, write_fundamentals


def _setup(db: Engine, url: str, redis_url: str, tmp_path: Path, case: tuple[datetime, str],
           **overrides: Any) -> Settings:
    moment, ticker = case
    insert_news_signal(db, ticker, recent(moment, 3))
    insert_macro_signal(db, ticker, recent(moment, 20))
    return make_settings(url, redis_url, fundamentals_path=write_fundamentals(
        tmp_path / "f.json", (ticker,), moment), **overrides)


def _publish(client: redis.Redis, case: tuple[datetime, str]) -> None:
    moment, ticker = case
    Producer(client, redis_keys.QueueName.AGGREGATION).publish(
        AggregationJob(ticker=ticker, as_of=moment))


def _all(db: Engine, model: object) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(table_of(model)).order_by(
            table_of(model).c.id)).all())


def test_stop_loss_exit_sells_the_position_once(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    settings = _setup(db, migrated_pg_url, redis_url, tmp_path, buy_case)
    workers = build_all(settings, db, redis_client)
    _publish(redis_client, buy_case)
    drain(workers)
    [position] = _all(db, Position)
    with db.begin() as conn:  # the stop sits above the market: the next bar hits it
        conn.execute(sa.update(table_of(Position)).values(stop_loss=Decimal(100_000)))
    engine = workers[TRADING_QUEUE].consumer.handler.__self__  # type: ignore[attr-defined]
    monitor = ExitMonitor(engine)
    next_day = buy_case[0] + timedelta(days=1)
    [signal] = monitor.check(next_day)
    assert signal.reason == "stop_loss"
    monitor.check(next_day)  # the same bar again decides nothing new
    drain(workers)
    orders = _all(db, Order)
    assert [(o.side, o.source, o.status) for o in orders] == [
        ("buy", "recommendation", "filled"), ("sell", "exit", "filled")]
    [closed] = _all(db, Position)
    assert closed.status == "closed" and closed.quantity == 0
    assert closed.realized_pl != 0 and position.id == closed.id


def test_circuit_breaker_trips_blocks_entries_and_resets(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    settings = _setup(db, migrated_pg_url, redis_url, tmp_path, buy_case)
    workers = build_all(settings, db, redis_client)
    control = ControlService(db, redis_client, settings, make_broker(settings, redis_client))
    with db.begin() as conn:  # a 3% loss today against a 2% limit
        conn.execute(sa.insert(table_of(PortfolioSnapshot)).values(
            broker_account_id=control.account_id, taken_at=datetime.now(UTC),
            cash=Decimal(97_000), equity=Decimal(97_000), day_pl=Decimal(-3_000)))
        from realtime.risk import load_portfolio
        portfolio = load_portfolio(conn, control.account_id)
        state = control.breaker.check(conn, portfolio, control.engine.limits, 0)
    assert state.tripped and state.breaker == "daily_loss"
    _publish(redis_client, buy_case)
    drain(workers)
    [decision] = _all(db, TradingDecision)
    assert decision.outcome == "skip" and decision.blocked_by == "circuit_breaker"
    assert _all(db, Order) == []
    assert not control.reset_breaker("risk-officer").tripped
    assert [e.event for e in _all(db, CircuitBreakerEvent)] == ["tripped", "reset"]


def test_orders_over_the_threshold_wait_for_approval(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    settings = _setup(db, migrated_pg_url, redis_url, tmp_path, buy_case,
                      risk_approval_threshold_notional=1_000)
    workers = build_all(settings, db, redis_client)
    control = ControlService(db, redis_client, settings, make_broker(settings, redis_client))
    _publish(redis_client, buy_case)
    drain(workers)
    [order] = _all(db, Order)
    assert order.status == "pending_approval" and _all(db, Position) == []
    control.approve(order.id, "desk-lead")
    drain(workers)
    [order] = _all(db, Order)
    assert order.status == "filled" and order.approved_by == "desk-lead"
    with pytest.raises(Exception, match="not pending_approval"):
        control.approve(order.id, "desk-lead")


def test_a_lost_announcement_is_caught_by_the_watermark_poll(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    settings = _setup(db, migrated_pg_url, redis_url, tmp_path, buy_case)
    workers = build_all(settings, db, redis_client)
    _publish(redis_client, buy_case)
    for queue in (redis_keys.QueueName.AGGREGATION, redis_keys.QueueName.RECOMMENDATION):
        workers[queue].consumer.run_once()
    redis_client.xtrim(redis_keys.queue(TRADING_QUEUE), maxlen=0)  # the announcement is lost
    drain(workers)
    assert _all(db, TradingDecision) == []
    engine = workers[TRADING_QUEUE].consumer.handler.__self__  # type: ignore[attr-defined]
    assert engine.poll_missed() == 1
    assert engine.poll_missed() == 0
    drain(workers)
    [order] = _all(db, Order)
    assert order.status == "filled"


def test_marking_to_market_values_positions_snapshots_and_trips_on_unrealised_loss(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    # The fill paid slippage and a fee, so at the bar's own close the position is down a
    # little: with a daily-loss limit of a millionth that unrealised loss must trip.
    settings = _setup(db, migrated_pg_url, redis_url, tmp_path, buy_case,
                      risk_daily_loss_limit_fraction=1e-6, rec_dedup_ttl_s=0,
                      rec_cooldown_s=0)
    workers = build_all(settings, db, redis_client)
    _publish(redis_client, buy_case)
    drain(workers)
    [bought] = _all(db, Position)
    snapshots = len(_all(db, PortfolioSnapshot))
    engine = workers[TRADING_QUEUE].consumer.handler.__self__  # type: ignore[attr-defined]
    assert not engine.breaker.state().tripped  # fills alone never checked the breaker here
    bar = engine.bars.snapshot(buy_case[1], buy_case[0])
    state = ExitMonitor(engine).mark_to_market(buy_case[0])
    [marked] = _all(db, Position)
    close = Decimal(str(bar.close))
    assert marked.market_price == close != bought.market_price
    assert marked.market_value == (marked.quantity * close).quantize(Decimal("0.01"))
    assert marked.unrealized_pl == (marked.quantity * close - marked.cost_basis).quantize(
        Decimal("0.01")) < 0
    snaps = _all(db, PortfolioSnapshot)
    assert len(snaps) == snapshots + 1
    assert snaps[-1].positions_value == marked.market_value and snaps[-1].day_pl < 0
    assert state.tripped and state.breaker == "daily_loss"
    assert [e.breaker for e in _all(db, CircuitBreakerEvent)] == ["daily_loss"]
    ExitMonitor(engine).mark_to_market(buy_case[0])  # the same bar again writes nothing
    assert len(_all(db, PortfolioSnapshot)) == snapshots + 1
    _publish(redis_client, (buy_case[0] + timedelta(minutes=1), buy_case[1]))
    drain(workers)
    assert _all(db, TradingDecision)[-1].blocked_by == "circuit_breaker"
