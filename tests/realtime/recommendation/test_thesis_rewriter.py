"""The LLM thesis rewriter: off the hot path, guarded against hallucination, idempotent.

Real PostgreSQL and Redis, the real recommendation service and consumer, and a local HTTP
server speaking Ollama's and OpenAI's chat APIs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.messages import (
    THESIS_QUEUE,
    TRADING_QUEUE,
    EvidenceRef,
    RecommendationJob,
    ThesisJob,
)
from realtime.recommendation import RecommendationService
from realtime.recommendation.rewriter import sweep_missed
from realtime.recommendation.thesis_guard import ThesisFacts, rejection_reason
from realtime.sql import table_of
from realtime.workers.runtime import QUEUES, Worker, build_worker, default_queues
from stonks import redis_keys
from stonks.config import Settings
from stonks.models import Company, DocumentImpactRecord
from stonks.models.recommendations import Recommendation
from stonks.queues import Delivery, Producer
from tests.realtime.conftest import insert_news_signal, make_settings
from tests.stonks.extraction.llm_server import (
    FakeLLMServer,
    Step,
    ollama_answer,
    openai_answer,
    serve,
)

NOW = datetime.now(UTC).replace(microsecond=0)
MODELS = {"ollama": "llama3.1:8b", "openai": "qwen2.5-7b"}
GOOD = {
    "thesis": "Apple (AAPL) is a buy: company news over the last day is clearly positive "
              "(trend +0.42) and the setup has a 62% chance of working at 1.8R. Enter near "
              "$187.32 with a stop at $180.00, about 3.9% below, and a first target of "
              "$200.50.",
    "key_points": ["News trend +0.42 over 1d", "P(win) 62%, payoff 1.8R",
                   "Stop $180.00, target $200.50"],
    "action": "buy", "direction": "bullish",
}


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    yield from serve()


def llm_settings(migrated_pg_url: str, redis_url: str, server: FakeLLMServer,
                 provider: str = "ollama", **overrides: Any) -> Settings:
    return make_settings(migrated_pg_url, redis_url, llm_provider=provider,
                         llm_base_url=server.url, llm_model=MODELS[provider],
                         llm_max_attempts=1, llm_backoff_base_s=0.0, queue_max_deliveries=2,
                         queue_retry_base_s=0.01, queue_retry_max_s=0.01, **overrides)


def answer(provider: str, content: dict[str, Any] | str) -> Step:
    text = content if isinstance(content, str) else json.dumps(content)
    return ollama_answer(text) if provider == "ollama" else openai_answer(text)


def job_for(db: Engine, ticker: str, *, action: str = "buy", direction: str = "bullish",
            last_price: float = 187.32, contradiction: bool = False) -> RecommendationJob:
    with db.connect() as conn:
        company_id = conn.execute(sa.select(table_of(Company).c.id).where(
            table_of(Company).c.ticker == ticker)).scalar_one()
    impact_id = insert_news_signal(db, ticker, NOW - timedelta(hours=3))
    with db.connect() as conn:
        document_id = conn.execute(sa.select(table_of(DocumentImpactRecord).c.document_id)
                                   .where(table_of(DocumentImpactRecord).c.id == impact_id)
                                   ).scalar_one()
    key = f"{ticker}:{action}:{NOW.isoformat()}"
    draft = {"idempotency_key": key, "company_id": company_id, "ticker": ticker,
             "action": action, "direction": direction, "confidence": 0.72,
             "probability": 0.6234, "payoff_ratio": 1.8, "ev_r": 0.5, "trend_score": 0.42,
             "entry_price": "187.32", "stop_loss": "180.00", "take_profit": "200.50",
             "targets": ["200.50"], "time_horizon": "short"}
    return RecommendationJob(
        ticker=ticker, company_id=company_id, as_of=NOW, origin_at=NOW, idempotency_key=key,
        draft=draft, trend={"1d": 0.42, "7d": 0.31}, trend_confidence=0.7,
        contradiction=contradiction, last_bar_at=NOW, last_price=last_price,
        avg_volume=5_000_000.0, sector="Information Technology",
        evidence=[EvidenceRef(kind="document_impact", reference_id=impact_id,
                              document_id=document_id, layer="company", weight=0.6,
                              published_at=NOW - timedelta(hours=3))])


def recommend(db: Engine, client: redis.Redis, settings: Settings,
              *jobs: RecommendationJob) -> None:
    RecommendationService(db, client, settings).handle(
        [Delivery(f"0-{i + 1}", job, 1) for i, job in enumerate(jobs)])


def thesis_jobs(client: redis.Redis) -> list[ThesisJob]:
    return [ThesisJob.from_fields(fields)
            for _, fields in client.xrange(redis_keys.queue(THESIS_QUEUE))]


def rewrite_all(worker: Worker, *, until: float = 5.0) -> None:
    """Run the thesis consumer until its stream and retry set are empty."""
    client = worker.consumer._client
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        worker.consumer.run_once()
        if not client.xlen(worker.consumer.stream) and not client.zcard(worker.consumer.retry_key):
            return
    raise AssertionError("the thesis queue did not drain")


def thesis_worker(settings: Settings, db: Engine, client: redis.Redis) -> Worker:
    worker = build_worker(THESIS_QUEUE, "test-thesis", settings, db, client)
    worker.consumer.ensure_group()
    return worker


def only_recommendation(db: Engine) -> Any:
    with db.connect() as conn:
        return conn.execute(sa.select(table_of(Recommendation))).one()


@pytest.mark.parametrize("provider", ["ollama", "openai"])
def test_trading_eligible_recommendation_gets_an_llm_thesis(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer, provider: str,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server, provider)
    llm_server.script(answer(provider, GOOD))
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    template = only_recommendation(db).thesis
    rewrite_all(thesis_worker(settings, db, redis_client))

    rec = only_recommendation(db)
    assert rec.thesis == GOOD["thesis"]
    assert rec.thesis_source == f"llm:{provider}:{MODELS[provider]}"
    assert rec.details["template_thesis"] == template
    assert rec.details["thesis_key_points"] == GOOD["key_points"]
    assert rec.details["thesis_rewrite"]["status"] == "llm"
    ((path, body),) = llm_server.requests
    assert path == ("/api/chat" if provider == "ollama" else "/v1/chat/completions")
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert "AAPL" in prompt and "187.32" in prompt and template in prompt
    assert "AAPL news" in prompt  # the evidence's document title


def test_only_active_buy_or_sell_recommendations_get_a_thesis_job(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    recommend(db, redis_client, settings,
              job_for(db, "AAPL"),
              job_for(db, "MSFT", action="hold", direction="neutral"),
              job_for(db, "IBM", last_price=1.0),  # ineligible: below the minimum price
              job_for(db, "GE", contradiction=True))  # suppressed
    with db.connect() as conn:
        recs = {r.ticker: r for r in conn.execute(sa.select(table_of(Recommendation)))}
    assert (recs["IBM"].status, recs["GE"].status) == ("ineligible", "suppressed")
    assert [j.recommendation_id for j in thesis_jobs(redis_client)] == [recs["AAPL"].id]


def test_sell_recommendation_gets_a_thesis_job_in_advisory_mode(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    # Advisory recommendations are not announced to the trading engine, but a human acts
    # on them, so they are worth the prose.
    settings = llm_settings(migrated_pg_url, redis_url, llm_server, trading_mode="advisory")
    recommend(db, redis_client, settings, job_for(db, "XOM", action="sell",
                                                  direction="bearish"))
    assert [j.recommendation_id for j in thesis_jobs(redis_client)] == [
        only_recommendation(db).id]
    assert not redis_client.xlen(redis_keys.queue(TRADING_QUEUE))


@pytest.mark.parametrize(("change", "reason"), [
    ({"thesis": GOOD["thesis"] + " Microsoft (MSFT) looks weaker."},
     "names another ticker: MSFT"),
    ({"thesis": GOOD["thesis"].replace("$200.50", "$215.00")},
     "quotes a number not among the recommendation's: 215"),
    ({"key_points": ["Upside of 25% to the target"]},
     "quotes a number not among the recommendation's: 25"),
    ({"action": "sell", "direction": "bearish"}, "flips the action: buy → sell"),
    ({"thesis": GOOD["thesis"] + " We recommend selling into strength."},
     "flips the action: the text says 'recommend selling'"),
], ids=["other-ticker", "invented-price", "invented-percentage", "flipped-action",
        "flipped-call-in-text"])
def test_hallucinated_rewrite_keeps_the_template_with_the_reason(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer, change: dict[str, Any], reason: str,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.script(answer("ollama", {**GOOD, **change}))
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    template = only_recommendation(db).thesis
    rewrite_all(thesis_worker(settings, db, redis_client))

    rec = only_recommendation(db)
    assert (rec.thesis, rec.thesis_source) == (template, "template")
    assert rec.details["thesis_rewrite"]["status"] == "rejected"
    assert rec.details["thesis_rewrite"]["reason"] == reason
    assert "template_thesis" not in rec.details


def test_invalid_answer_is_repaired_once(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.script(answer("ollama", "Sure! Here is the thesis: AAPL is a buy."),
                      answer("ollama", GOOD))
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    rewrite_all(thesis_worker(settings, db, redis_client))

    rec = only_recommendation(db)
    assert rec.thesis == GOOD["thesis"]
    assert len(llm_server.requests) == 2
    repair = llm_server.requests[1][1]["messages"][-1]["content"]
    assert "rejected" in repair


def test_answer_still_invalid_after_repair_keeps_the_template_without_retrying(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.default = answer("ollama", {"thesis": "too short"})
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    template = only_recommendation(db).thesis
    rewrite_all(thesis_worker(settings, db, redis_client))

    rec = only_recommendation(db)
    assert (rec.thesis, rec.thesis_source) == (template, "template")
    assert rec.details["thesis_rewrite"]["status"] == "invalid"
    assert rec.details["thesis_rewrite"]["reason"].startswith("invalid after repair")
    assert len(llm_server.requests) == 2  # the answer and one repair, no queue retry
    assert not redis_client.xlen(redis_keys.dlq(THESIS_QUEUE))


def test_unavailable_llm_is_retried_then_dead_lettered_keeping_the_template(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.default = Step({"error": "model is loading"}, status=503)
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    template = only_recommendation(db).thesis
    rewrite_all(thesis_worker(settings, db, redis_client))

    rec = only_recommendation(db)
    assert (rec.thesis, rec.thesis_source) == (template, "template")
    assert rec.details["thesis_rewrite"]["status"] == "unavailable"
    assert "503" in rec.details["thesis_rewrite"]["reason"]
    assert len(llm_server.requests) == settings.queue_max_deliveries
    (dead,) = redis_client.xrange(redis_keys.dlq(THESIS_QUEUE))
    assert b"LLMUnavailable" in dead[1][b"error"]


def test_redelivered_job_does_not_call_the_llm_again(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.default = answer("ollama", GOOD)
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    (job,) = thesis_jobs(redis_client)
    worker = thesis_worker(settings, db, redis_client)
    rewrite_all(worker)
    Producer(redis_client, THESIS_QUEUE).publish(job)  # the same message, delivered again
    rewrite_all(worker)

    assert len(llm_server.requests) == 1
    assert only_recommendation(db).thesis == GOOD["thesis"]


def test_rejected_rewrite_is_not_retried_on_redelivery(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.default = answer("ollama", {**GOOD, "action": "sell"})
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    (job,) = thesis_jobs(redis_client)
    worker = thesis_worker(settings, db, redis_client)
    rewrite_all(worker)
    Producer(redis_client, THESIS_QUEUE).publish(job)
    rewrite_all(worker)

    assert len(llm_server.requests) == 1
    assert only_recommendation(db).thesis_source == "template"


def test_without_an_llm_nothing_is_published_and_no_thesis_worker_starts(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
) -> None:
    settings = make_settings(migrated_pg_url, redis_url)
    assert settings.llm_provider == "none"
    recommend(db, redis_client, settings, job_for(db, "AAPL"))

    rec = only_recommendation(db)
    assert (rec.status, rec.thesis_source) == ("active", "template")
    assert not redis_client.exists(redis_keys.queue(THESIS_QUEUE))
    assert THESIS_QUEUE in QUEUES and THESIS_QUEUE not in default_queues(settings)


def test_thesis_worker_without_an_llm_acknowledges_jobs_and_changes_nothing(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
) -> None:
    settings = make_settings(migrated_pg_url, redis_url)
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    rec = only_recommendation(db)
    Producer(redis_client, THESIS_QUEUE).publish(
        ThesisJob(recommendation_id=rec.id, as_of=NOW, origin_at=NOW))
    rewrite_all(thesis_worker(settings, db, redis_client))

    after = only_recommendation(db)
    assert (after.thesis, after.thesis_source, after.details) == (
        rec.thesis, "template", rec.details)


FACTS = ThesisFacts(ticker="AAPL", action="buy", direction="bullish",
                    numbers=(0.6234, 62.34, 187.32, 180.0, 200.5, 1.8, 0.42))


@pytest.mark.parametrize("text", [
    "AAPL: 62% odds, entry $187, stop $180, target $200.50, 1.8R.",
    "Buy AAPL near 187.3; the S&P 500 backdrop is calm; 7-day news flow +0.42.",
    "A clean setup (AAPL) after the 2010 product cycle; P(win) 62.3%.",
])
def test_rewrite_with_rounded_numbers_and_ordinary_words_passes_the_guard(text: str) -> None:
    assert rejection_reason(text, "buy", "bullish", FACTS, ["AAPL", "MSFT", "GE", "A"]) is None


@pytest.mark.parametrize(("text", "reason"), [
    ("AAPL beats $MSFT on margins.", "names another ticker: MSFT"),
    ("AAPL and GE both look strong.", "names another ticker: GE"),
    ("AAPL rallies like $ZZZZ did.", "names another ticker: ZZZZ"),
    ("AAPL entry 187.32, target 250.", "quotes a number not among the recommendation's: 250"),
    ("AAPL has 70% odds.", "quotes a number not among the recommendation's: 70"),
])
def test_rewrite_naming_other_tickers_or_new_numbers_fails_the_guard(text: str,
                                                                      reason: str) -> None:
    assert rejection_reason(text, "buy", "bullish", FACTS, ["AAPL", "MSFT", "GE"]) == reason


def test_a_lost_thesis_job_is_queued_once_by_the_sweep_after_the_grace_period(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    llm_server: FakeLLMServer,
) -> None:
    settings = llm_settings(migrated_pg_url, redis_url, llm_server)
    llm_server.script(answer("ollama", GOOD))
    recommend(db, redis_client, settings, job_for(db, "AAPL"))
    redis_client.delete(redis_keys.queue(THESIS_QUEUE))  # the job never made it out
    assert sweep_missed(db, redis_client) == 0  # still inside the grace period
    with db.begin() as conn:
        conn.execute(sa.update(table_of(Recommendation)).values(
            created_at=datetime.now(UTC) - timedelta(minutes=2)))
    assert sweep_missed(db, redis_client) == 1
    assert sweep_missed(db, redis_client) == 0  # queued once, not on every sweep
    [job] = thesis_jobs(redis_client)
    assert job.recommendation_id == only_recommendation(db).id
    rewrite_all(thesis_worker(settings, db, redis_client))
    assert only_recommendation(db).thesis == GOOD["thesis"]
