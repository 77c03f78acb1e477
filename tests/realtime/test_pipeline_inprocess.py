"""The chain in one process: aggregation job → recommendation → decision → order → position."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.lake import FillFact, OrderFact, PositionFact, RecommendationFact
from realtime.sql import table_of
from stonks import redis_keys
from stonks.models.orders import Order, TradingDecision
from stonks.models.portfolio import Position
from stonks.models.recommendations import Recommendation
from stonks.models.trends import TrendHistory, TrendProjection, TrendWindow
from stonks.queues import Producer, QueueMessage
from stonks.weighted_signals import AggregationJob
from tests.realtime.conftest import (
    insert_macro_signal,
    insert_news_signal,
    make_settings,
    recent,
)
from tests.realtime.pipeline import build_all, drain, write_fundamentals


def _buy_through_the_pipeline(db: Engine, database_url: str, redis_url: str,
                              client: redis.Redis, tmp_path: Path,
                              case: tuple[datetime, str]) -> None:
    """One aggregation job for a BUY case, drained through all four workers in-process."""
    moment, ticker = case
    settings = make_settings(database_url, redis_url, fundamentals_path=write_fundamentals(
        tmp_path / "f.json", (ticker,), moment))
    insert_news_signal(db, ticker, recent(moment, 3))
    insert_macro_signal(db, ticker, recent(moment, 20))
    workers = build_all(settings, db, client)
    Producer(client, redis_keys.QueueName.AGGREGATION).publish(
        AggregationJob(ticker=ticker, as_of=moment))
    drain(workers)


def test_aggregation_job_becomes_a_filled_position(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    buy_case: tuple[datetime, str],
) -> None:
    _buy_through_the_pipeline(db, migrated_pg_url, redis_url, redis_client, tmp_path,
                              buy_case)
    with db.connect() as conn:
        rec = conn.execute(sa.select(table_of(Recommendation))).one()
        decision = conn.execute(sa.select(table_of(TradingDecision))).one()
        order = conn.execute(sa.select(table_of(Order))).one()
        position = conn.execute(sa.select(table_of(Position))).one()
    assert (rec.action, rec.status) == ("buy", "acted"), rec.suppression_reason
    assert decision.outcome == "act", decision.gate_results
    assert order.status == "filled"
    assert position.quantity == order.filled_quantity > 0
    facts = redis_client.xrange(redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH))
    assert {fields[b"schema"] for _, fields in facts} == {
        b"lake.recommendation", b"lake.order", b"lake.fill", b"lake.position"}


def test_order_fill_position_and_recommendation_facts_reach_the_lake_queue(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    buy_case: tuple[datetime, str],
) -> None:
    _buy_through_the_pipeline(db, migrated_pg_url, redis_url, redis_client, tmp_path,
                              buy_case)
    with db.connect() as conn:
        rec = conn.execute(sa.select(table_of(Recommendation))).one()
        order = conn.execute(sa.select(table_of(Order))).one()
        position = conn.execute(sa.select(table_of(Position))).one()
    kinds: dict[bytes, type[QueueMessage]] = {
        b"lake.recommendation": RecommendationFact, b"lake.order": OrderFact,
        b"lake.fill": FillFact, b"lake.position": PositionFact}
    facts: dict[type[QueueMessage], Any] = {}
    for _, fields in redis_client.xrange(redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH)):
        kind = kinds[fields[b"schema"]]
        facts[kind] = kind.from_fields(fields)
    assert facts[RecommendationFact].recommendation_id == rec.id
    assert (facts[OrderFact].order_id, facts[OrderFact].status) == (order.id, "filled")
    assert facts[OrderFact].filled_quantity == order.filled_quantity
    assert facts[FillFact].order_id == order.id
    assert (facts[PositionFact].position_id, facts[PositionFact].ticker) == (
        position.id, buy_case[1])
    assert facts[PositionFact].quantity == position.quantity
    assert facts[PositionFact].status == "open"


def test_same_direction_recommendation_in_one_batch_is_suppressed_by_the_cooldown(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    settings = make_settings(migrated_pg_url, redis_url, rec_dedup_ttl_s=0, rec_cooldown_s=3600,
                             fundamentals_path=write_fundamentals(tmp_path / "f.json",
                                                                  (ticker,), moment))
    insert_news_signal(db, ticker, recent(moment, 3))
    insert_macro_signal(db, ticker, recent(moment, 20))
    workers = build_all(settings, db, redis_client)
    Producer(redis_client, redis_keys.QueueName.AGGREGATION).publish_many(
        [AggregationJob(ticker=ticker, as_of=moment + timedelta(microseconds=i))
         for i in range(2)])
    drain(workers)  # both recommendation jobs reach the worker in one batch
    with db.connect() as conn:
        recs = conn.execute(sa.select(table_of(Recommendation))
                            .order_by(table_of(Recommendation).c.id)).all()
        orders = conn.execute(sa.select(table_of(Order))).all()
    assert [r.status for r in recs] == ["acted", "suppressed"]
    assert recs[1].suppression_reason.startswith("cooldown")
    assert len(orders) == 1


def test_a_burst_for_one_ticker_keeps_the_newest_trend_per_batch_and_every_recommendation(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    settings = make_settings(migrated_pg_url, redis_url, rec_dedup_ttl_s=0, fundamentals_path=(
        write_fundamentals(tmp_path / "f.json", (ticker,), moment)))
    insert_news_signal(db, ticker, recent(moment, 3))
    workers = build_all(settings, db, redis_client)
    # Published newest first: the batch order must not decide which computation is kept.
    jobs = [AggregationJob(ticker=ticker, as_of=moment + timedelta(seconds=s)) for s in (3, 1, 2)]
    Producer(redis_client, redis_keys.QueueName.AGGREGATION).publish_many(jobs)
    drain(workers)
    newest = moment + timedelta(seconds=3)
    with db.connect() as conn:
        windows = conn.execute(sa.select(table_of(TrendWindow))).all()
        history = conn.execute(sa.select(table_of(TrendHistory))).all()
        projections = conn.execute(sa.select(table_of(TrendProjection))).all()
        recs = conn.execute(sa.select(table_of(Recommendation))).all()
    assert {w.window_label for w in windows} == {"1d", "7d", "30d"}
    assert {w.computed_at for w in windows} == {newest}
    assert sorted((h.window_label, h.computed_at) for h in history) == sorted(
        (label, newest) for label in ("1d", "7d", "30d"))
    assert len(projections) == 6 and {p.computed_at for p in projections} == {newest}
    assert len(recs) == 3  # every job still gets its recommendation
