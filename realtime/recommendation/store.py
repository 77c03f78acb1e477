"""Storing a batch of drafted recommendations with their evidence and risk evaluations.

Each draft becomes exactly one ``recommendations`` row (unique idempotency key) with its
evidence rows and a ``risk_evaluations`` row, all committed together, before the caller
announces anything. A redelivered job (its key conflicts) writes nothing and is reported
as not stored, so it is not announced again (a lost announcement is the trading engine's
watermark poll's to find).

On PostgreSQL (psycopg2) the batch is one prepared statement (``_PG_STORE``) on a
connection the store keeps (``KeptConnection``: out of the pool, in autocommit), so the
cooldown read, the three inserts and the commit cost one round trip and no pool
check-out, check-in or autocommit switch: the cooldown is a sub-select per row over the
committed recommendations, and the evidence and risk rows are inserted from the
``RETURNING`` of the new recommendations. The statement is safe to send twice (a second
time it finds every key stored and writes nothing), so it is sent once more on a fresh
connection when the kept one broke. SQLite (embedded), and PostgreSQL through another
driver, run the same steps as a few statements in one transaction.

Evidence and risk rows stay in the recommendation's statement rather than in a second
transaction after the announcement. There they add ~0.1 ms to the statement at a batch of
one; a second write would cost another round trip, statement and commit per batch (more
CPU, which is what the pipeline runs out of under load), its own idempotency
(``risk_evaluations`` has no unique key to ignore a redelivered row on), and a window in
which the thesis rewriter could read a recommendation without its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from pydantic_core import to_json
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from realtime.kept_connection import KeptConnection
from realtime.messages import EvidenceRef
from realtime.prepared import PreparedStatement
from realtime.recommendation.drafting import COOLDOWN, COOLING, Draft, RecommendationDraft
from realtime.sql import insert_ignore_many, insert_statement, table_of
from stonks.models.recommendations import (
    Recommendation,
    RecommendationEvidence,
    RecommendationStatus,
)
from stonks.models.risk import EvaluationScope, RiskEvaluation

_EVIDENCE_CONFLICT = ("recommendation_id", "kind", "reference_id")


@dataclass(frozen=True, slots=True)
class Stored:
    """A new recommendation row as committed."""

    id: int
    status: str


_EVIDENCE = TypeAdapter(list[EvidenceRef])


def _store_document(drafts: list[Draft]) -> str:
    """``_PG_STORE``'s JSON parameter: per draft, its model's JSON (decimals as text, enums
    as values) with what the statement needs that is not a column put in front (the
    draft's own JSON is extended: serialising a ``model_dump`` costs three times as much)."""
    parts = [f'{{"n":{n},"cooldown_since":{to_json(d.cooldown_since).decode()},'
             f'"evidence":{_EVIDENCE.dump_json(d.job.evidence).decode()},'
             f'{d.rec.model_dump_json()[1:]}' for n, d in enumerate(drafts)]
    return f"[{','.join(parts)}]"


class RecommendationStore:
    """Stores drafted batches (committed on return); see the module docstring."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        #: The PostgreSQL session the store statement runs on (None: the portable path).
        self.kept = KeptConnection(db) if KeptConnection.supports(db) else None

    def close(self) -> None:
        """Close the kept connection (a later batch opens a new one)."""
        if self.kept is not None:
            self.kept.close()

    def store(self, drafts: list[Draft], now: datetime) -> dict[str, Stored]:
        """Store ``drafts`` created at ``now``; the new rows by idempotency key (a key
        missing from it was stored before). A draft the cooldown suppresses against a
        committed recommendation is updated to say so (the portable path; on PostgreSQL
        the row says so, and only the stored status is reported)."""
        if self.kept is None:
            with self.db.begin() as conn:
                return _store_portable(conn, drafts, now)
        return {key: Stored(int(rec_id), status) for rec_id, key, status in self.kept.run(
            _PG_STORE, {"rows": _store_document(drafts), "now": now}, retry=True)}


def _store_portable(conn: sa.Connection, drafts: list[Draft],
                    now: datetime) -> dict[str, Stored]:
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
                    t.c.status.in_(COOLING), t.c.created_at >= since)):
            oldest = recent.get((ticker, action))
            if oldest is None or created_at < oldest[0]:
                recent[(ticker, action)] = (created_at, int(rec_id))
        for d in checked:
            found = recent.get((d.rec.ticker, d.rec.action.value))
            if found is not None:
                d.suppress_for_cooldown(found[1])
    rows = [{**d.rec.model_dump(), "created_at": now, "updated_at": now} for d in drafts]
    # A redelivered job conflicts: its row and side rows exist already.
    new = {key: int(rec_id) for rec_id, key in conn.execute(
        insert_statement(conn, t).on_conflict_do_nothing(
            index_elements=["idempotency_key"]).returning(t.c.id, t.c.idempotency_key),
        rows)}
    stored: dict[str, Stored] = {}
    evidence: list[dict[str, Any]] = []
    risks: list[dict[str, Any]] = []
    for d in drafts:
        rec_id = new.get(d.rec.idempotency_key)
        if rec_id is None:
            continue
        stored[d.rec.idempotency_key] = Stored(rec_id, d.rec.status.value)
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


def _pg_store_statement() -> str:
    """``_PG_STORE``: the batch's recommendations with their cooldown check, evidence and
    risk rows, as one prepared statement over a JSON document of the rows
    (``_store_document``) and the batch's creation time.

    The cooldown names the oldest active/acted row in the window: the one that started it,
    and the first the ``(ticker, created_at)`` index meets, before the rows it suppressed.
    It is looked up once per row (a lateral join: as a sub-select in the select list it
    would be copied into, and run by, each of the two expressions that use it)."""
    rec = table_of(Recommendation)
    drafted = set(RecommendationDraft.model_fields)
    columns = [c.name for c in rec.columns if c.name in drafted]
    types = {c.name: c.type.compile(dialect=_PG_DIALECT) for c in rec.columns}
    record = ", ".join(f"{name} {types[name]}" for name in columns)
    computed = {
        "status": "CASE WHEN recent_id IS NULL THEN status ELSE "
                  f"'{RecommendationStatus.SUPPRESSED.value}' END",
        "suppression_reason": "CASE WHEN recent_id IS NULL THEN suppression_reason ELSE "
                              f"'{COOLDOWN[0]}' || recent_id || '{COOLDOWN[1]}' END",
    }
    selected = ", ".join(computed.get(name, name) for name in columns)
    cooling = ", ".join(f"'{s}'" for s in COOLING)
    active = RecommendationStatus.ACTIVE.value
    scope = EvaluationScope.RECOMMENDATION.value
    return f"""
PREPARE {_PG_STORE_NAME}(json, timestamptz) AS
WITH batch AS (
    SELECT * FROM json_to_recordset($1) AS b(
        n integer, cooldown_since timestamptz, evidence json, {record})
), checked AS (
    SELECT batch.*, recent.id AS recent_id
    FROM batch LEFT JOIN LATERAL (
        SELECT r.id FROM recommendations r
        WHERE batch.cooldown_since IS NOT NULL AND r.ticker = batch.ticker
          AND r.action = batch.action AND r.status IN ({cooling})
          AND r.created_at >= batch.cooldown_since
        ORDER BY r.created_at LIMIT 1) AS recent ON true
), stored AS (
    INSERT INTO recommendations ({", ".join(columns)}, created_at, updated_at)
    SELECT {selected}, $2, $2 FROM checked ORDER BY n
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key, status, suppression_reason, confidence, eligibility
), evidence_rows AS (
    INSERT INTO recommendation_evidence (created_at, recommendation_id, kind, reference_id,
                                         document_id, layer, weight, published_at, payload)
    SELECT $2, s.id, e.kind, e.reference_id, e.document_id, e.layer,
           coalesce(e.weight, 0), e.published_at, '{{}}'::json
    FROM stored s JOIN batch b ON b.idempotency_key = s.idempotency_key
    CROSS JOIN LATERAL json_to_recordset(b.evidence) AS e(
        kind varchar, reference_id bigint, document_id bigint, layer varchar,
        weight double precision, published_at timestamptz)
    ON CONFLICT ({", ".join(_EVIDENCE_CONFLICT)}) DO NOTHING
), risk_rows AS (
    INSERT INTO risk_evaluations (created_at, scope, recommendation_id, approved, risk_score,
                                  checks, reasons, evaluated_at)
    SELECT $2, '{scope}', id, status = '{active}', 1.0 - confidence, eligibility,
           CASE WHEN suppression_reason IS NULL THEN '[]'::json
                ELSE json_build_array(suppression_reason) END,
           $2
    FROM stored
)
SELECT id, idempotency_key, status FROM stored
"""


_PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_PG_STORE_NAME = "stonks_store_recommendations"
_PG_STORE = PreparedStatement(_PG_STORE_NAME, _pg_store_statement(),
                              f"EXECUTE {_PG_STORE_NAME}(%(rows)s, %(now)s)")
