"""The recommendation handler: what it stores, what it announces, and that a redelivered
job never double-acts, on PostgreSQL (one prepared statement) and SQLite (one transaction).

Real databases and Redis; the handler is called as the consumer calls it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.lake import RecommendationFact
from realtime.messages import TRADING_QUEUE, EvidenceRef, RecommendationCommitted, RecommendationJob
from realtime.prepared import fetch_rows
from realtime.recommendation import RecommendationService
from realtime.sql import table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.models import Company
from stonks.models.recommendations import Recommendation, RecommendationEvidence
from stonks.models.risk import RiskEvaluation
from stonks.queues import Delivery
from tests.realtime.conftest import make_settings, seeded_engine

NOW = datetime.now(UTC).replace(microsecond=0)
TICKERS = ("AAPL", "MSFT", "IBM")


@pytest.fixture
def engine(each_dialect_url: str) -> Iterator[Engine]:
    """A migrated database with ``TICKERS`` seeded, on each supported dialect."""
    with seeded_engine(each_dialect_url, TICKERS) as db:
        yield db


def settings_for(db: Engine, redis_url: str, **overrides: Any) -> Settings:
    return make_settings(db.url.render_as_string(hide_password=False), redis_url,
                         **overrides)


def company_ids(db: Engine) -> dict[str, int]:
    t = table_of(Company)
    with db.connect() as conn:
        return {row.ticker: int(row.id) for row in conn.execute(sa.select(t.c.ticker, t.c.id))}


def make_job(db: Engine, ticker: str, key: str, *, action: str = "buy",
             last_price: float = 187.32, contradiction: bool = False,
             evidence: list[EvidenceRef] | None = None) -> RecommendationJob:
    company_id = company_ids(db)[ticker]
    draft = {"idempotency_key": key, "company_id": company_id, "ticker": ticker,
             "action": action, "direction": "bullish" if action == "buy" else "bearish",
             "confidence": 0.72, "probability": 0.6234, "payoff_ratio": 1.8, "ev_r": 0.5,
             "trend_score": 0.42, "entry_price": "187.32", "stop_loss": "180.00",
             "take_profit": "200.50", "targets": ["200.50", "210.00"],
             "time_horizon": "swing", "valid_until": (NOW + timedelta(days=1)).isoformat(),
             "details": {"consensus": action}}
    return RecommendationJob(
        ticker=ticker, company_id=company_id, as_of=NOW, origin_at=NOW - timedelta(seconds=1),
        idempotency_key=key, draft=draft, trend={"1d": 0.42, "7d": 0.31},
        trend_confidence=0.7, contradiction=contradiction, last_bar_at=NOW,
        last_price=last_price, avg_volume=5_000_000.0, sector="Information Technology",
        evidence=evidence if evidence is not None else [
            EvidenceRef(kind="signal_engine_output", reference_id=11),
            EvidenceRef(kind="trend_window", reference_id=12, layer="company", weight=0.6,
                        published_at=NOW - timedelta(hours=3))])


def handle(service: RecommendationService, *jobs: RecommendationJob) -> None:
    service.handle([Delivery(f"0-{i + 1}", job, 1) for i, job in enumerate(jobs)])


def recommendations(db: Engine) -> list[Any]:
    t = table_of(Recommendation)
    with db.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.id)))


def side_rows(db: Engine, model: Any) -> list[Any]:
    t = table_of(model)
    with db.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.id)))


def entries(client: redis.Redis, queue: str) -> list[dict[bytes, bytes]]:
    found: Any = client.xrange(redis_keys.queue(queue))
    return [fields for _, fields in found]


def announced(client: redis.Redis) -> list[RecommendationCommitted]:
    return [RecommendationCommitted.from_fields(f) for f in entries(client, TRADING_QUEUE)]


def lake_facts(client: redis.Redis) -> list[RecommendationFact]:
    return [RecommendationFact.from_fields(f)
            for f in entries(client, redis_keys.QueueName.LAKE_PUBLISH)]


def test_a_job_stores_its_recommendation_evidence_and_risk_evaluation_then_announces_it(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client, settings_for(engine, redis_url))
    job = make_job(engine, "AAPL", "k-1")
    handle(service, job)

    (rec,) = recommendations(engine)
    assert (rec.ticker, rec.action, rec.status, rec.mode) == ("AAPL", "buy", "active", "paper")
    assert rec.suppression_reason is None
    assert str(rec.entry_price) == "187.32000000" and rec.targets == ["200.50", "210.00"]
    assert rec.thesis.startswith("BUY AAPL (bullish); P(win) 62%")
    assert rec.thesis_source == "template"
    assert rec.details == {"consensus": "buy", "trend": {"1d": 0.42, "7d": 0.31},
                           "as_of": NOW.isoformat(), "trend_confidence": 0.7,
                           "sector": "Information Technology"}
    assert rec.eligibility["price"] == {"passed": True, "value": 187.32, "limit": 5.0}
    assert rec.valid_until == NOW + timedelta(days=1)
    evidence = side_rows(engine, RecommendationEvidence)
    assert [(e.recommendation_id, e.kind, e.reference_id, e.layer, e.weight, e.published_at)
            for e in evidence] == [
        (rec.id, "signal_engine_output", 11, None, 0.0, None),
        (rec.id, "trend_window", 12, "company", 0.6, NOW - timedelta(hours=3))]
    (risk,) = side_rows(engine, RiskEvaluation)
    assert (risk.scope, risk.recommendation_id, risk.approved, risk.reasons) == (
        "recommendation", rec.id, True, [])
    assert risk.risk_score == pytest.approx(1 - 0.72)
    assert risk.checks == rec.eligibility
    assert [(a.recommendation_id, a.as_of, a.origin_at) for a in announced(redis_client)] == [
        (rec.id, job.as_of, job.origin_at)]
    assert [(f.recommendation_id, f.status) for f in lake_facts(redis_client)] == [
        (rec.id, "active")]


def test_a_redelivered_job_writes_once_and_announces_once(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client, settings_for(engine, redis_url))
    job = make_job(engine, "AAPL", "k-1")
    handle(service, job)
    handle(service, job, make_job(engine, "MSFT", "k-2"))  # redelivered beside a new one

    recs = recommendations(engine)
    assert [r.idempotency_key for r in recs] == ["k-1", "k-2"]
    assert len(side_rows(engine, RecommendationEvidence)) == 4
    assert [r.recommendation_id for r in side_rows(engine, RiskEvaluation)] == [
        recs[0].id, recs[1].id]
    assert [a.recommendation_id for a in announced(redis_client)] == [recs[0].id, recs[1].id]


def test_a_crash_after_the_commit_loses_nothing_and_the_redelivery_does_not_double_act(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    # The first worker commits, then loses Redis before announcing (a real refused
    # connection, not a stub): the consumer does not acknowledge and the job comes back.
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    settings = settings_for(engine, redis_url)
    job = make_job(engine, "AAPL", "k-1")
    with pytest.raises(redis.ConnectionError):
        handle(RecommendationService(engine, dead, settings), job)
    (rec,) = recommendations(engine)
    assert len(side_rows(engine, RecommendationEvidence)) == 2
    assert len(side_rows(engine, RiskEvaluation)) == 1

    handle(RecommendationService(engine, redis_client, settings), job)

    assert [r.id for r in recommendations(engine)] == [rec.id]
    assert len(side_rows(engine, RecommendationEvidence)) == 2
    assert len(side_rows(engine, RiskEvaluation)) == 1
    # Not announced twice, ever: the lost announcement is the trading engine's watermark
    # poll's to find (an active, actionable row past its watermark).
    assert announced(redis_client) == []
    assert (rec.status, rec.action, rec.mode) == ("active", "buy", "paper")


def test_a_recent_committed_same_direction_recommendation_suppresses_by_the_cooldown(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client,
                                    settings_for(engine, redis_url, rec_cooldown_s=3600))
    handle(service, make_job(engine, "AAPL", "k-1"))
    first = recommendations(engine)[0]
    handle(service, make_job(engine, "AAPL", "k-2"),
           make_job(engine, "AAPL", "k-3", action="sell"),  # the other direction: not cooled
           make_job(engine, "MSFT", "k-4"))

    recs = {r.idempotency_key: r for r in recommendations(engine)}
    reason = f"cooldown: recommendation {first.id} in the same direction is recent"
    assert (recs["k-2"].status, recs["k-2"].suppression_reason) == ("suppressed", reason)
    assert (recs["k-3"].status, recs["k-4"].status) == ("active", "active")
    risks = {r.recommendation_id: r for r in side_rows(engine, RiskEvaluation)}
    assert (risks[recs["k-2"].id].approved, risks[recs["k-2"].id].reasons) == (False, [reason])
    assert risks[recs["k-3"].id].approved
    assert [a.recommendation_id for a in announced(redis_client)] == [
        first.id, recs["k-3"].id, recs["k-4"].id]
    facts = {f.recommendation_id: f.status for f in lake_facts(redis_client)}
    assert facts[recs["k-2"].id] == "suppressed"


@pytest.mark.parametrize(("status", "age_s", "cools"), [
    ("acted", 60, True), ("suppressed", 60, False), ("expired", 60, False),
    ("active", 7200, False),
])
def test_only_an_active_or_acted_recommendation_within_the_cooldown_counts(
    engine: Engine, redis_url: str, redis_client: redis.Redis, status: str, age_s: int,
    cools: bool,
) -> None:
    service = RecommendationService(engine, redis_client,
                                    settings_for(engine, redis_url, rec_cooldown_s=3600))
    handle(service, make_job(engine, "AAPL", "k-1"))
    t = table_of(Recommendation)
    with engine.begin() as conn:
        conn.execute(sa.update(t).values(
            status=status, created_at=datetime.now(UTC) - timedelta(seconds=age_s)))
    handle(service, make_job(engine, "AAPL", "k-2"))
    assert recommendations(engine)[1].status == ("suppressed" if cools else "active")


def test_same_direction_jobs_in_one_batch_suppress_all_but_the_first(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client,
                                    settings_for(engine, redis_url, rec_cooldown_s=3600))
    handle(service, make_job(engine, "IBM", "k-1"), make_job(engine, "IBM", "k-2"))
    recs = recommendations(engine)
    assert [r.status for r in recs] == ["active", "suppressed"]
    assert recs[1].suppression_reason == (
        "cooldown: recommendation k-1 in the same direction is recent")
    assert [a.recommendation_id for a in announced(redis_client)] == [recs[0].id]


def test_a_committed_recent_recommendation_outranks_the_batch_in_the_reason(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client,
                                    settings_for(engine, redis_url, rec_cooldown_s=3600))
    handle(service, make_job(engine, "IBM", "k-1"))
    first = recommendations(engine)[0]
    handle(service, make_job(engine, "IBM", "k-2"), make_job(engine, "IBM", "k-3"))
    reason = f"cooldown: recommendation {first.id} in the same direction is recent"
    assert [(r.status, r.suppression_reason) for r in recommendations(engine)[1:]] == [
        ("suppressed", reason), ("suppressed", reason)]


def test_ineligible_and_contradicted_jobs_are_stored_but_not_announced(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client, settings_for(engine, redis_url))
    handle(service, make_job(engine, "AAPL", "k-1", last_price=1.0),
           make_job(engine, "MSFT", "k-2", contradiction=True),
           make_job(engine, "IBM", "k-3", action="hold"))
    recs = recommendations(engine)
    assert [(r.status, r.suppression_reason) for r in recs] == [
        ("ineligible", "ineligible: price"),
        ("suppressed", "contradiction: strong signals or the two pipelines disagree"),
        ("active", None)]
    assert [r.approved for r in side_rows(engine, RiskEvaluation)] == [False, False, True]
    assert announced(redis_client) == []
    assert len(lake_facts(redis_client)) == 3


def test_advisory_mode_stores_without_announcing(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client,
                                    settings_for(engine, redis_url, trading_mode="advisory"))
    handle(service, make_job(engine, "AAPL", "k-1"))
    assert [(r.status, r.mode) for r in recommendations(engine)] == [("active", "advisory")]
    assert announced(redis_client) == []


def test_a_repeated_evidence_reference_is_stored_once(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client, settings_for(engine, redis_url))
    ref = EvidenceRef(kind="trend_window", reference_id=7, weight=0.5)
    handle(service, make_job(engine, "AAPL", "k-1", evidence=[ref, ref]),
           make_job(engine, "MSFT", "k-2", evidence=[]))
    assert [(e.kind, e.reference_id) for e in side_rows(engine, RecommendationEvidence)] == [
        ("trend_window", 7)]
    assert len(side_rows(engine, RiskEvaluation)) == 2


def test_the_announcements_carry_message_ids_derived_from_the_recommendation(
    engine: Engine, redis_url: str, redis_client: redis.Redis,
) -> None:
    service = RecommendationService(engine, redis_client, settings_for(engine, redis_url))
    handle(service, make_job(engine, "AAPL", "k-1"), make_job(engine, "MSFT", "k-2"))
    ids = [r.id for r in recommendations(engine)]
    assert [a.message_id for a in announced(redis_client)] == [
        f"recommendation:{i}:committed" for i in ids]
    assert [f.message_id for f in lake_facts(redis_client)] == [
        f"recommendation:{i}:fact" for i in ids]
    service.close()


@contextmanager
def pg_service_after_one_batch(pg_url: str, redis_url: str, redis_client: redis.Redis,
                               **engine_options: Any,
                               ) -> Iterator[tuple[Engine, RecommendationService]]:
    """A service on a seeded PostgreSQL that has stored one batch (job ``k-1``, AAPL);
    closed afterwards."""
    with seeded_engine(pg_url, TICKERS, **engine_options) as db:
        service = RecommendationService(db, redis_client, settings_for(db, redis_url))
        handle(service, make_job(db, "AAPL", "k-1"))
        try:
            yield db, service
        finally:
            service.close()


def test_a_prepared_statement_lost_by_the_session_is_prepared_again(
    pg_url: str, redis_url: str, redis_client: redis.Redis,
) -> None:
    with pg_service_after_one_batch(pg_url, redis_url, redis_client) as (db, service):
        assert service.store.kept is not None
        with service.store.kept.connection() as conn:  # the store's session
            fetch_rows(conn, "DEALLOCATE ALL")
        handle(service, make_job(db, "MSFT", "k-2"))
        assert [r.idempotency_key for r in recommendations(db)] == ["k-1", "k-2"]
        assert len(announced(redis_client)) == 2


def test_the_store_needs_no_pooled_connection(
    pg_url: str, redis_url: str, redis_client: redis.Redis,
) -> None:
    # The session it opened first, kept out of the pool: an exhausted pool does not hold
    # up the batches after it.
    with pg_service_after_one_batch(pg_url, redis_url, redis_client, pool_size=1,
                                    max_overflow=0, pool_timeout=1) as (db, service):
        job = make_job(db, "MSFT", "k-2")
        with db.connect() as held:
            held.execute(sa.select(1))
            handle(service, job)
        assert [r.idempotency_key for r in recommendations(db)] == ["k-1", "k-2"]
        assert len(announced(redis_client)) == 2


def test_a_batch_is_stored_and_announced_once_after_the_database_drops_the_connection(
    pg_url: str, redis_url: str, redis_client: redis.Redis,
) -> None:
    with pg_service_after_one_batch(pg_url, redis_url, redis_client) as (db, service):
        with db.connect() as conn:  # e.g. a server restart or an idle-session timeout
            dropped = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        assert dropped >= 1
        handle(service, make_job(db, "MSFT", "k-2"))
        recs = recommendations(db)
        assert [r.idempotency_key for r in recs] == ["k-1", "k-2"]
        assert len(side_rows(db, RiskEvaluation)) == 2
        assert [a.recommendation_id for a in announced(redis_client)] == [r.id for r in recs]
