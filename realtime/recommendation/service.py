"""The recommendation worker's handler.

Each job becomes exactly one ``recommendations`` row (unique idempotency key), with its
evidence rows and a ``risk_evaluations`` row, in one transaction. Actionable ones (BUY/SELL,
active, not advisory) are then announced on the trading queue after the commit; with an LLM
configured, active BUY/SELL ones also get a job on the thesis queue (``rewriter.py``).

Round trips per batch. Eligibility, contradiction and the cooldown among the batch's own
jobs are decided in Python. On PostgreSQL the rest is one prepared statement (``_PG_STORE``)
sent in autocommit mode, so the cooldown read, the three inserts and the commit cost one
round trip: the cooldown is a sub-select per row over the committed recommendations, and
the evidence and risk rows are inserted from the ``RETURNING`` of the new recommendations,
so a redelivered job (its key conflicts) writes nothing and is not announced again (a lost
announcement is the trading engine's watermark poll's to find). Then one Redis pipeline
carries the trading announcements, the lake facts and the thesis jobs. SQLite (embedded),
and PostgreSQL through a driver other than psycopg2, run the same steps as a few statements
in one transaction.

Evidence and risk rows stay in the recommendation's statement rather than in a second
transaction after the announcement. There they add ~0.1 ms to the statement at a batch of
one; a second write would cost another round trip, statement and commit per batch (more
CPU, which is what the pipeline runs out of under load), its own idempotency
(``risk_evaluations`` has no unique key to ignore a redelivered row on), and a window in
which the thesis rewriter could read a recommendation without its evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core
import redis
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
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
from realtime.prepared import PreparedStatement, execute_prepared
from realtime.recommendation.thesis import template_thesis
from realtime.sql import insert_ignore_many, insert_statement, table_of
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
from stonks.queues import Delivery

logger = logging.getLogger(__name__)

ACTIONABLE = (RecommendationAction.BUY, RecommendationAction.SELL)
_ACTIONABLE_VALUES = frozenset(a.value for a in ACTIONABLE)
#: Statuses that make a same-direction recommendation count for the cooldown.
_COOLING = (RecommendationStatus.ACTIVE.value, RecommendationStatus.ACTED.value)
_NOT_DRAFTED = {"id", "created_at", "updated_at"}
_EVIDENCE_CONFLICT = ("recommendation_id", "kind", "reference_id")


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


_COOLDOWN = ("cooldown: recommendation ", " in the same direction is recent")


def cooldown_reason(recommendation: object) -> str:
    """The suppression reason naming the recent same-direction ``recommendation``."""
    return f"{_COOLDOWN[0]}{recommendation}{_COOLDOWN[1]}"


@dataclass(slots=True)
class _Draft:
    """One job's recommendation as decided before the database is consulted."""

    job: RecommendationJob
    rec: RecommendationDraft
    reason: str | None
    #: Set when a committed same-direction recommendation created since then suppresses it
    #: (its reason then wins over ``reason``, which can only be the batch's own cooldown).
    cooldown_since: datetime | None


@dataclass(frozen=True, slots=True)
class _Stored:
    """A new recommendation row as committed."""

    id: int
    status: str


class RecommendationService:
    """Handles batches of RecommendationJobs."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self._mode = TradingMode(settings.trading_mode)
        self._trading_stream = redis_keys.queue(TRADING_QUEUE)
        self._lake_stream = redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH)
        # The LLM rewrites theses on its own queue, never inline; no LLM, no jobs.
        self._thesis_stream = (redis_keys.queue(THESIS_QUEUE)
                               if settings.llm_provider != "none" else None)
        # One statement, one round trip, its own commit (see the module docstring).
        self._one_statement = db.dialect.name == "postgresql" and db.dialect.driver == "psycopg2"

    def handle(self, deliveries: Sequence[Delivery[RecommendationJob]]) -> None:
        now = datetime.now(UTC)
        drafts = self._draft_many([d.message for d in deliveries], now)
        if not drafts:
            return
        if self._one_statement:
            stored = self._store_postgresql(self.db, drafts, now)
        else:
            with self.db.begin() as conn:
                stored = self._store_portable(conn, drafts, now)
        if stored:
            self._publish(drafts, stored)

    def _draft_many(self, jobs: Sequence[RecommendationJob], now: datetime) -> list[_Draft]:
        """The drafts of ``jobs`` (the first of each idempotency key), in order."""
        drafts: list[_Draft] = []
        seen: set[str] = set()
        batch: dict[tuple[str, str], str] = {}  # (ticker, action) → key of an active draft
        for job in jobs:
            if job.idempotency_key in seen:
                continue
            draft = self._draft(job, batch, now)
            if draft.rec.idempotency_key in seen:  # the draft's key is the row's
                continue
            seen.update((job.idempotency_key, draft.rec.idempotency_key))
            drafts.append(draft)
        return drafts

    def _draft(self, job: RecommendationJob, batch: dict[tuple[str, str], str],
               now: datetime) -> _Draft:
        """The recommendation of ``job`` with eligibility, suppression and thesis applied.

        ``batch`` holds the active drafts earlier in this batch, not yet in the table, so
        the cooldown sees them as it would see committed rows. A committed recent one is
        looked for when the row is stored."""
        rec = RecommendationDraft.model_validate(job.draft)
        rec.mode = self._mode
        checks = eligibility(job, self.settings)
        rec.eligibility = checks
        failed = [name for name, check in checks.items() if not check["passed"]]
        reason: str | None = None
        since: datetime | None = None
        if failed:
            rec.status = RecommendationStatus.INELIGIBLE
            reason = "ineligible: " + ", ".join(failed)
        else:
            if job.contradiction or rec.contradiction:
                reason = "contradiction: strong signals or the two pipelines disagree"
            elif self.settings.rec_cooldown_s > 0 and rec.action in ACTIONABLE:
                since = now - timedelta(seconds=self.settings.rec_cooldown_s)
                slot = (rec.ticker, rec.action.value)
                earlier = batch.get(slot)
                if earlier is not None:
                    reason = cooldown_reason(earlier)
                elif rec.status is RecommendationStatus.ACTIVE:
                    batch[slot] = rec.idempotency_key
            if reason is not None:
                rec.status = RecommendationStatus.SUPPRESSED
        rec.suppression_reason = reason
        rec.thesis = template_thesis(rec, job.trend)
        rec.thesis_source = "template"
        rec.details = {**rec.details, "trend": job.trend, "as_of": job.as_of.isoformat(),
                       "trend_confidence": job.trend_confidence, "sector": job.sector}
        return _Draft(job, rec, reason, since)

    # ---- storing ---------------------------------------------------------------------------

    @staticmethod
    def _store_postgresql(db: Engine, drafts: list[_Draft],
                          now: datetime) -> dict[str, _Stored]:
        rows = []
        for n, d in enumerate(drafts):
            row = d.rec.model_dump(exclude=_NOT_DRAFTED)
            row["n"] = n
            row["created_at"] = now
            row["cooldown_since"] = d.cooldown_since
            row["evidence"] = d.job.evidence
            rows.append(row)
        payload = pydantic_core.to_json(rows).decode()
        with db.connect() as conn:
            # The driver's own autocommit switch is local; SQLAlchemy's AUTOCOMMIT isolation
            # level would cost a SET round trip per checkout. Switched back before the
            # connection goes back to the pool (a checked-out one is never in a transaction).
            raw: Any = conn.connection.dbapi_connection
            raw.autocommit = True
            try:
                result = _execute_store(conn, payload)
            finally:
                try:
                    raw.autocommit = False
                except Exception:  # a broken session: discarded, never pooled in autocommit
                    conn.invalidate()
            return {key: _Stored(int(rec_id), status) for rec_id, key, status in result}

    def _store_portable(self, conn: sa.Connection, drafts: list[_Draft],
                        now: datetime) -> dict[str, _Stored]:
        """The same as ``_PG_STORE`` in a few statements of one transaction (SQLite)."""
        t = table_of(Recommendation)
        checked = [d for d in drafts if d.cooldown_since is not None]
        if checked:
            # Drafted together, they share one ``cooldown_since``: one read for the batch.
            since = checked[0].cooldown_since
            recent: dict[tuple[str, str], tuple[datetime, int]] = {}  # the oldest of each
            for rec_id, ticker, action, created_at in conn.execute(
                    sa.select(t.c.id, t.c.ticker, t.c.action, t.c.created_at).where(
                        sa.tuple_(t.c.ticker, t.c.action).in_(
                            {(d.rec.ticker, d.rec.action.value) for d in checked}),
                        t.c.status.in_(_COOLING), t.c.created_at >= since)):
                oldest = recent.get((ticker, action))
                if oldest is None or created_at < oldest[0]:
                    recent[(ticker, action)] = (created_at, int(rec_id))
            for d in checked:
                found = recent.get((d.rec.ticker, d.rec.action.value))
                if found is not None:
                    d.reason = d.rec.suppression_reason = cooldown_reason(found[1])
                    d.rec.status = RecommendationStatus.SUPPRESSED
        rows = [{**d.rec.model_dump(exclude=_NOT_DRAFTED), "created_at": now,
                 "updated_at": now} for d in drafts]
        # A redelivered job conflicts: its row and side rows exist already.
        new = {key: int(rec_id) for rec_id, key in conn.execute(
            insert_statement(conn, t).on_conflict_do_nothing(
                index_elements=["idempotency_key"]).returning(t.c.id, t.c.idempotency_key),
            rows)}
        stored: dict[str, _Stored] = {}
        evidence: list[dict[str, Any]] = []
        risks: list[dict[str, Any]] = []
        for d in drafts:
            rec_id = new.get(d.rec.idempotency_key)
            if rec_id is None:
                continue
            stored[d.rec.idempotency_key] = _Stored(rec_id, d.rec.status.value)
            evidence += [
                {"created_at": now, "recommendation_id": rec_id, "kind": e.kind,
                 "reference_id": e.reference_id, "document_id": e.document_id,
                 "layer": e.layer, "weight": e.weight, "published_at": e.published_at,
                 "payload": {}} for e in d.job.evidence]
            risks.append({
                "created_at": now, "scope": EvaluationScope.RECOMMENDATION.value,
                "recommendation_id": rec_id,
                "approved": d.rec.status is RecommendationStatus.ACTIVE,
                "risk_score": 1.0 - d.rec.confidence, "checks": d.rec.eligibility,
                "reasons": [d.reason] if d.reason else [], "evaluated_at": now,
            })
        insert_ignore_many(conn, table_of(RecommendationEvidence), evidence, _EVIDENCE_CONFLICT)
        if risks:
            risk = table_of(RiskEvaluation)
            conn.execute(sa.insert(risk).returning(risk.c.id), risks).all()
        return stored

    # ---- announcing ------------------------------------------------------------------------

    def _publish(self, drafts: list[_Draft], stored: dict[str, _Stored]) -> None:
        """Announce the new, actionable recommendations (committed by now) on the trading
        queue; the lake facts and thesis jobs ride in the same pipeline."""
        pipe = self.client.pipeline(transaction=False)
        facts = []
        theses = []
        verbose = logger.isEnabledFor(logging.INFO)
        for d in drafts:
            row = stored.get(d.rec.idempotency_key)
            if row is None:
                continue
            rec, job = d.rec, d.job
            action = rec.action.value
            active = row.status == RecommendationStatus.ACTIVE.value
            if active and action in _ACTIONABLE_VALUES:
                if self._mode is not TradingMode.ADVISORY:
                    pipe.xadd(self._trading_stream, RecommendationCommitted(  # type: ignore[arg-type]
                        recommendation_id=row.id, as_of=job.as_of,
                        origin_at=job.origin_at).to_fields())
                if self._thesis_stream is not None:
                    theses.append(ThesisJob(recommendation_id=row.id, as_of=job.as_of,
                                            origin_at=job.origin_at))
            facts.append(RecommendationFact(
                recommendation_id=row.id, ticker=rec.ticker, action=action, status=row.status,
                confidence=rec.confidence, probability=rec.probability, as_of=job.as_of))
            if verbose:
                logger.info("recommendation stored", extra={
                    "ticker": rec.ticker, "id": row.id, "action": action,
                    "status": row.status})
        for fact in facts:  # hand-off to the lake DAG, after the commit
            pipe.xadd(self._lake_stream, fact.to_fields())  # type: ignore[arg-type]
        if self._thesis_stream is not None:
            for thesis in theses:
                pipe.xadd(self._thesis_stream, thesis.to_fields())  # type: ignore[arg-type]
        pipe.execute()


def _execute_store(conn: sa.Connection, payload: str) -> Sequence[Any]:
    """Run the store statement, prepared once per session: planning it costs more than
    running it."""
    return execute_prepared(conn, _PG_STORE, {"rows": payload})


def _pg_store_statement() -> str:
    """``_PG_STORE``: the batch's recommendations with their cooldown check, evidence and
    risk rows, as one prepared statement over one JSON parameter.

    The cooldown names the oldest active/acted row in the window: the one that started it,
    and the first the ``(ticker, created_at)`` index meets, before the rows it suppressed."""
    rec = table_of(Recommendation)
    columns = [c.name for c in rec.columns if c.name not in ("id", "updated_at")]
    types = {c.name: c.type.compile(dialect=_PG_DIALECT) for c in rec.columns}
    record = ", ".join(f"{name} {types[name]}" for name in columns)
    computed = {
        "status": "CASE WHEN recent_id IS NULL THEN status ELSE "
                  f"'{RecommendationStatus.SUPPRESSED.value}' END",
        "suppression_reason": "CASE WHEN recent_id IS NULL THEN suppression_reason ELSE "
                              f"'{_COOLDOWN[0]}' || recent_id || '{_COOLDOWN[1]}' END",
    }
    selected = ", ".join(computed.get(name, name) for name in columns)
    cooling = ", ".join(f"'{s}'" for s in _COOLING)
    active = RecommendationStatus.ACTIVE.value
    scope = EvaluationScope.RECOMMENDATION.value
    return f"""
PREPARE {_PG_STORE_NAME}(json) AS
WITH batch AS (
    SELECT * FROM json_to_recordset($1) AS b(
        n integer, cooldown_since timestamptz, evidence json, {record})
), checked AS (
    SELECT batch.*, (
        SELECT r.id FROM recommendations r
        WHERE batch.cooldown_since IS NOT NULL AND r.ticker = batch.ticker
          AND r.action = batch.action AND r.status IN ({cooling})
          AND r.created_at >= batch.cooldown_since
        ORDER BY r.created_at LIMIT 1) AS recent_id
    FROM batch
), stored AS (
    INSERT INTO recommendations ({", ".join(columns)}, updated_at)
    SELECT {selected}, created_at FROM checked ORDER BY n
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key, status, suppression_reason, confidence, eligibility,
              created_at
), evidence_rows AS (
    INSERT INTO recommendation_evidence (created_at, recommendation_id, kind, reference_id,
                                         document_id, layer, weight, published_at, payload)
    SELECT s.created_at, s.id, e.kind, e.reference_id, e.document_id, e.layer,
           coalesce(e.weight, 0), e.published_at, '{{}}'::json
    FROM stored s JOIN batch b ON b.idempotency_key = s.idempotency_key
    CROSS JOIN LATERAL json_to_recordset(b.evidence) AS e(
        kind varchar, reference_id bigint, document_id bigint, layer varchar,
        weight double precision, published_at timestamptz)
    ON CONFLICT ({", ".join(_EVIDENCE_CONFLICT)}) DO NOTHING
), risk_rows AS (
    INSERT INTO risk_evaluations (created_at, scope, recommendation_id, approved, risk_score,
                                  checks, reasons, evaluated_at)
    SELECT created_at, '{scope}', id, status = '{active}', 1.0 - confidence, eligibility,
           CASE WHEN suppression_reason IS NULL THEN '[]'::json
                ELSE json_build_array(suppression_reason) END,
           created_at
    FROM stored
)
SELECT id, idempotency_key, status FROM stored
"""


_PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_PG_STORE_NAME = "stonks_store_recommendations"
_PG_STORE = PreparedStatement(_PG_STORE_NAME, _pg_store_statement(),
                              f"EXECUTE {_PG_STORE_NAME}(%(rows)s)")
