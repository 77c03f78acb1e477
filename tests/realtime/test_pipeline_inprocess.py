"""The chain in one process: aggregation job → recommendation → decision → order → position."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.sql import table_of
from stonks import redis_keys
from stonks.models.orders import Order, TradingDecision
from stonks.models.portfolio import Position
from stonks.models.recommendations import Recommendation
from stonks.queues import Producer
from stonks.weighted_signals import AggregationJob
from tests.realtime.conftest import (
        insert_macro_signal,
    insert_news_signal,
    make_settings,
    recent,
)
from tests.realtime.pipeline import build_all, drain, write_fundamentals


def test_aggregation_job_becomes_a_filled_position(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    settings = make_settings(migrated_pg_url, redis_url, fundamentals_path=write_fundamentals(
        tmp_path / "f.json", (ticker,), moment))
    insert_news_signal(db, ticker, recent(moment, 3))
    insert_macro_signal(db, ticker, recent(moment, 20))
    workers = build_all(settings, db, redis_client)
    Producer(redis_client, redis_keys.QueueName.AGGREGATION).publish(
        AggregationJob(ticker=ticker, as_of=moment))
    drain(workers)
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
    assert {fields[b"schema"] for _, fields in facts} == {b"lake.recommendation", b"lake.fill"}
