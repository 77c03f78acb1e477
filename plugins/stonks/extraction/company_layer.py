"""Layer 1 writer: ``document_intelligence`` and ``document_impact_records`` of a document.

Re-extracting a document replaces its rows (upsert on the unique keys, stale companies
removed), so a replay leaves the same rows. Every row carries the document's published
time, the variant, model name and prompt hash that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from stonks.db.conflict import table_of
from stonks.extraction.agents import VariantConfig
from stonks.extraction.schemas import DocumentExtraction
from stonks.extraction.upserts import upsert_rows
from stonks.models import DocumentImpactRecord, DocumentIntelligence
from stonks.models.types import utcnow

_INTELLIGENCE = table_of(DocumentIntelligence)
_IMPACTS = table_of(DocumentImpactRecord)


@dataclass(frozen=True)
class StoredImpact:
    """An impact record as stored, for propagation and the hand-off."""

    id: int
    document_id: int
    company_id: int
    ticker: str
    direction: str
    magnitude: float
    confidence: float
    horizon: str
    event_types: tuple[str, ...]
    published_at: datetime
    agent_variant_id: int | None
    model_name: str
    prompt_hash: str | None


def write_company_layer(conn: sa.Connection, *, document_id: int, published_at: datetime,
                        output: DocumentExtraction, companies: dict[str, int],
                        variant: VariantConfig, extractor: str) -> list[StoredImpact]:
    """Store one document's extraction; ``companies`` maps mentioned tickers to ids."""
    now = utcnow()
    provenance = {"agent_variant_id": variant.variant_id, "model_name": variant.model_name,
                  "prompt_hash": variant.prompt_hash}
    upsert_rows(conn, _INTELLIGENCE, [{
        "document_id": document_id, "extractor": extractor, "summary": output.summary,
        "sentiment": output.sentiment, "confidence": output.confidence,
        "event_types": output.event_types, "output": output.model_dump(mode="json"),
        "published_at": published_at, "created_at": now, "updated_at": now, **provenance,
    }], ["document_id"], update=["extractor", "summary", "sentiment", "confidence",
                                 "event_types", "output", "published_at", "updated_at",
                                 "agent_variant_id", "model_name", "prompt_hash"])
    # Only companies parsing found in the document: an LLM cannot invent a ticker here.
    impacts = {c.ticker: c for c in output.companies if c.ticker in companies}
    rows = [{
        "document_id": document_id, "company_id": companies[t], "ticker": t,
        "direction": c.direction.value, "magnitude": c.magnitude, "confidence": c.confidence,
        "horizon": c.horizon.value, "sentiment": c.sentiment, "event_types": c.event_types,
        "rationale": c.rationale, "evidence": {"sentences": c.evidence},
        "published_at": published_at, "created_at": now, "updated_at": now, **provenance,
    } for t, c in sorted(impacts.items())]
    conn.execute(sa.delete(_IMPACTS).where(
        _IMPACTS.c.document_id == document_id,
        _IMPACTS.c.company_id.not_in([companies[t] for t in impacts] or [-1])))
    upsert_rows(conn, _IMPACTS, rows, ["document_id", "company_id"],
                update=["ticker", "direction", "magnitude", "confidence", "horizon",
                        "sentiment", "event_types", "rationale", "evidence", "published_at",
                        "updated_at", "agent_variant_id", "model_name", "prompt_hash"])
    stored = conn.execute(sa.select(_IMPACTS).where(_IMPACTS.c.document_id == document_id)
                          .order_by(_IMPACTS.c.ticker)).all()
    return [StoredImpact(int(r.id), int(r.document_id), int(r.company_id), str(r.ticker),
                         str(r.direction), float(r.magnitude), float(r.confidence),
                         str(r.horizon), tuple(r.event_types or ()), r.published_at,
                         r.agent_variant_id, str(r.model_name), r.prompt_hash)
            for r in stored]
