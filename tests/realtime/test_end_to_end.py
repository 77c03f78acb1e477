"""End to end through real Redis, PostgreSQL, worker processes and the API under uvicorn."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.sql import table_of
from stonks import redis_keys
from stonks.models.orders import Order, OrderEvent, TradingDecision
from stonks.models.portfolio import PortfolioSnapshot
from stonks.models.recommendations import Recommendation, RecommendationEvidence
from stonks.models.trends import TrendWindow
from stonks.queues import Producer
from stonks.weighted_signals import AggregationJob
from tests.realtime.conftest import (
        insert_macro_signal,
    insert_news_signal,
    realtime_env,
    recent,
)
from tests.realtime.pipeline import write_fundamentals
from tests.realtime.processes import api_server, running, wait_for


def _filled_order(db: Engine) -> object:
    with db.connect() as conn:
        return conn.execute(sa.select(table_of(Order)).where(
            table_of(Order).c.status == "filled")).first()


def test_aggregation_job_flows_to_a_position_through_worker_processes_and_the_api(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    fundamentals = write_fundamentals(tmp_path / "fundamentals.json", (ticker,), moment)
    env = realtime_env(migrated_pg_url, redis_url, fundamentals_path=fundamentals)
    news_id = insert_news_signal(db, ticker, recent(moment, 3))
    insert_macro_signal(db, ticker, recent(moment, 20))
    with running(["realtime.workers", "--concurrency", "1"], env), api_server(env) as base:
        Producer(redis_client, redis_keys.QueueName.AGGREGATION).publish(
            AggregationJob(ticker=ticker, as_of=moment))
        order = wait_for(lambda: _filled_order(db), timeout=60)
        positions = httpx.get(f"{base}/positions", timeout=5).json()
        recs = httpx.get(f"{base}/recommendations", params={"ticker": ticker}, timeout=5).json()
        bad = httpx.post(f"{base}/override/order", json={"ticker": "aapl!", "side": "hold",
                                                          "quantity": -1, "actor": ""}, timeout=5)
        missing = httpx.post(f"{base}/orders/999999/approve", json={"actor": "ops"}, timeout=5)
        not_a_number = httpx.get(f"{base}/orders", params={"limit": "many"}, timeout=5)
    with db.connect() as conn:
        windows = conn.execute(sa.select(table_of(TrendWindow))).all()
        evidence = conn.execute(sa.select(table_of(RecommendationEvidence))).all()
        decision = conn.execute(sa.select(table_of(TradingDecision))).one()
        events = [r.event_key for r in conn.execute(sa.select(table_of(OrderEvent)).order_by(
            table_of(OrderEvent).c.id))]
        snapshots = conn.execute(sa.select(table_of(PortfolioSnapshot)).order_by(
            table_of(PortfolioSnapshot).c.id)).all()
        rec = conn.execute(sa.select(table_of(Recommendation))).one()
    assert {w.window_label for w in windows} == {"1d", "7d", "30d"}
    assert rec.action == "buy" and rec.status == "acted"
    assert any(e.kind == "document_impact" and e.reference_id == news_id for e in evidence)
    assert decision.outcome == "act" and all(g["passed"] for g in decision.gate_results.values())
    assert events[0] == "intent" and any(key.startswith("fill:") for key in events)
    assert order.client_order_id == f"so-rec-{rec.id}"  # type: ignore[attr-defined]
    assert [p["ticker"] for p in positions] == [ticker]
    assert float(positions[0]["quantity"]) == float(order.filled_quantity)  # type: ignore[attr-defined]
    assert recs[0]["id"] == rec.id
    # One snapshot for the fill, and one more if the exit check marked it to market since.
    assert snapshots[0].details["fills"] == 1 and len(snapshots) <= 2
    assert all(s.open_positions == 1 for s in snapshots)
    assert bad.status_code == 422 and missing.status_code == 404
    assert not_a_number.status_code == 422
