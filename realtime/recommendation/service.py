"""The recommendation worker's handler.

Each job becomes exactly one ``recommendations`` row (unique idempotency key), with its
evidence rows and a ``risk_evaluations`` row, in one transaction. Actionable ones (BUY/SELL,
active, not advisory) are then announced on the trading queue after the commit; with an LLM
configured, active BUY/SELL ones also get a job on the thesis queue (``rewriter.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field

from realtime.lake import RecommendationFact
from realtime.messages import (
    THESIS_QUEUE,
    TRADING_QUEUE,
    RecommendationCommitted,
    RecommendationJob,
    ThesisJob,
)
from realtime.recommendation.thesis import template_thesis
from realtime.sql import insert_statement, table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import TradingMode
from stonks.models.recommendations import (
    Recommendation,
    RecommendationAction,
    RecommendationBase,
    RecommendationEvidence,
    RecommendationStatus,
)
from stonks.models.risk import EvaluationScope, RiskEvaluation
from stonks.queues import Delivery, Producer

logger = logging.getLogger(__name__)

ACTIONABLE = (RecommendationAction.BUY, RecommendationAction.SELL)


class RecommendationDraft(RecommendationBase):
    """A recommendation before it is stored: plain pydantic (validating a table model
    costs several times more, and this runs once per job)."""

    targets: list[str] = Field(default_factory=list)
    eligibility: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


def eligibility(job: RecommendationJob, settings: Settings) -> dict[str, dict[str, Any]]:
    """Liquidity, price and data-freshness checks: name → {passed, value, limit}."""
    age = None if job.last_bar_at is None else (job.as_of - job.last_bar_at).total_seconds()
    max_age = settings.rec_max_data_age_days * 86400
    return {
        "price": {"passed": job.last_price is not None and job.last_price >= settings.rec_min_price,
                  "value": job.last_price, "limit": settings.rec_min_price},
        "liquidity": {"passed": (job.avg_volume or 0.0) >= settings.rec_min_avg_volume,
                      "value": job.avg_volume, "limit": settings.rec_min_avg_volume},
        "freshness": {"passed": age is not None and age <= max_age,
                      "value": age, "limit": max_age},
    }


class RecommendationService:
    """Handles batches of RecommendationJobs."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.producer = Producer(client, TRADING_QUEUE)
        self.lake = Producer(client, redis_keys.QueueName.LAKE_PUBLISH)
        self._facts: list[RecommendationFact] = []
        # The LLM rewrites theses on its own queue, never inline; no LLM, no jobs.
        self.theses = (Producer(client, THESIS_QUEUE) if settings.llm_provider != "none"
                       else None)
        self._theses: list[ThesisJob] = []

    def handle(self, deliveries: Sequence[Delivery[RecommendationJob]]) -> None:
        announce: list[RecommendationCommitted] = []
        self._facts = []
        self._theses = []
        with self.db.begin() as conn:
            announce = self.build_many(conn, [d.message for d in deliveries])
        if announce:
            self.producer.publish_many(announce)
        if self._facts:  # hand-off to the lake DAG, after the commit
            self.lake.publish_many(self._facts)
        if self.theses is not None and self._theses:
            self.theses.publish_many(self._theses)

    def _suppression(self, conn: sa.Connection, job: RecommendationJob,
                     rec: RecommendationDraft) -> str | None:
        if job.contradiction or rec.contradiction:
            return "contradiction: strong signals or the two pipelines disagree"
        cooldown = self.settings.rec_cooldown_s
        if cooldown > 0 and rec.action in ACTIONABLE:
            t = table_of(Recommendation)
            since = datetime.now(UTC) - timedelta(seconds=cooldown)
            recent = conn.execute(sa.select(t.c.id).where(
                t.c.ticker == rec.ticker, t.c.action == rec.action.value,
                t.c.status.in_([RecommendationStatus.ACTIVE.value,
                                RecommendationStatus.ACTED.value]),
                t.c.created_at >= since,
            ).limit(1)).first()
            if recent is not None:
                return f"cooldown: recommendation {recent.id} in the same direction is recent"
        return None

    def build_many(self, conn: sa.Connection,
                   jobs: Sequence[RecommendationJob]) -> list[RecommendationCommitted]:
        """Insert the recommendations of ``jobs`` (each once, in three statements for the
        batch); the trading announcements of the new, actionable ones."""
        drafts: dict[str, tuple[RecommendationJob, RecommendationDraft, str | None]] = {}
        batch: dict[tuple[str, str], str] = {}  # (ticker, action) → key of an active draft
        for job in jobs:
            if job.idempotency_key in drafts:
                continue
            rec, reason = self._draft(conn, job, batch)
            drafts[rec.idempotency_key] = (job, rec, reason)
            if rec.status is RecommendationStatus.ACTIVE and rec.action in ACTIONABLE:
                batch[(rec.ticker, rec.action.value)] = rec.idempotency_key
        if not drafts:
            return []
        t = table_of(Recommendation)
        rows = [rec.model_dump(exclude={"id", "created_at", "updated_at"})
                for _, rec, _ in drafts.values()]
        # A redelivered job conflicts: its row and side rows exist already.
        new = {key: int(rec_id) for rec_id, key in conn.execute(
            insert_statement(conn, t).on_conflict_do_nothing(
                index_elements=["idempotency_key"]).returning(t.c.id, t.c.idempotency_key),
            rows)}
        evidence: list[dict[str, Any]] = []
        risks: list[dict[str, Any]] = []
        announce: list[RecommendationCommitted] = []
        now = datetime.now(UTC)
        for key, (job, rec, reason) in drafts.items():
            rec_id = new.get(key)
            if rec_id is None:
                continue
            evidence += [
                {"recommendation_id": rec_id, "kind": e.kind, "reference_id": e.reference_id,
                 "document_id": e.document_id, "layer": e.layer, "weight": e.weight,
                 "published_at": e.published_at, "payload": {}} for e in job.evidence]
            risks.append({
                "scope": EvaluationScope.RECOMMENDATION.value, "recommendation_id": rec_id,
                "approved": rec.status is RecommendationStatus.ACTIVE,
                "risk_score": 1.0 - rec.confidence, "checks": rec.eligibility,
                "reasons": [reason] if reason else [], "evaluated_at": now,
            })
            self._facts.append(RecommendationFact(
                recommendation_id=rec_id, ticker=rec.ticker, action=rec.action.value,
                status=rec.status.value, confidence=rec.confidence, probability=rec.probability,
                as_of=job.as_of))
            logger.info("recommendation stored", extra={"ticker": rec.ticker, "id": rec_id,
                                                        "action": rec.action.value,
                                                        "status": rec.status.value})
            if (rec.status is RecommendationStatus.ACTIVE and rec.action in ACTIONABLE
                    and rec.mode is not TradingMode.ADVISORY):
                announce.append(RecommendationCommitted(
                    recommendation_id=rec_id, as_of=job.as_of, origin_at=job.origin_at))
            if (self.theses is not None and rec.status is RecommendationStatus.ACTIVE
                    and rec.action in ACTIONABLE):
                self._theses.append(ThesisJob(
                    recommendation_id=rec_id, as_of=job.as_of, origin_at=job.origin_at))
        _insert_many(conn, table_of(RecommendationEvidence), evidence)
        _insert_many(conn, table_of(RiskEvaluation), risks)
        return announce

    def _draft(self, conn: sa.Connection, job: RecommendationJob,
               batch: dict[tuple[str, str], str]) -> tuple[RecommendationDraft, str | None]:
        """The recommendation of ``job`` with eligibility, suppression and thesis applied.

        ``batch`` holds the active drafts earlier in this batch, not yet in the table, so
        the cooldown sees them as it would see committed rows."""
        rec = RecommendationDraft.model_validate(job.draft)
        rec.mode = TradingMode(self.settings.trading_mode)
        checks = eligibility(job, self.settings)
        rec.eligibility = checks
        failed = [name for name, check in checks.items() if not check["passed"]]
        reason = None
        if failed:
            rec.status = RecommendationStatus.INELIGIBLE
            reason = "ineligible: " + ", ".join(failed)
        else:
            reason = self._suppression(conn, job, rec)
            earlier = batch.get((rec.ticker, rec.action.value))
            if (reason is None and earlier is not None and self.settings.rec_cooldown_s > 0
                    and rec.action in ACTIONABLE):
                reason = f"cooldown: recommendation {earlier} in the same direction is recent"
            if reason is not None:
                rec.status = RecommendationStatus.SUPPRESSED
        rec.suppression_reason = reason
        rec.thesis = template_thesis(rec, job.trend)
        rec.thesis_source = "template"
        rec.details = {**rec.details, "trend": job.trend, "as_of": job.as_of.isoformat(),
                       "trend_confidence": job.trend_confidence, "sector": job.sector}
        return rec, reason


def _insert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    # RETURNING makes SQLAlchemy batch the rows into multi-row VALUES ("insertmanyvalues");
    # a plain executemany would be one INSERT per row on psycopg2.
    if rows:
        conn.execute(sa.insert(table).returning(table.c.id), rows).all()
