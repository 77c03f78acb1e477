"""What a document means: run the picked variant (lexicon/rules or an LLM) on one document.

The lexicon and rules are logged to ``agent_performance_log`` like LLM calls (no tokens), so
agent performance compares variants on one table.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from stonks.db.conflict import table_of
from stonks.extraction.agents import VariantConfig, log_call
from stonks.extraction.lexicon import LexiconExtractor
from stonks.extraction.llm_clients import LLMClient, TokenBudget
from stonks.extraction.schemas import (
    EVENT_TYPES,
    DocumentExtraction,
    EventClassification,
    MacroEvent,
)
from stonks.extraction.structured import call_structured
from stonks.extraction.work import WorkDocument
from stonks.macro.events import classify_events
from stonks.models import DocumentIntelligence, GlobalEvent
from stonks.models.agents import CallOutcome
from stonks.models.types import utcnow

#: Characters of document text sent to an LLM (the rest rarely changes the call).
MAX_PROMPT_TEXT = 12_000
LOCAL_PROVIDERS = frozenset({"lexicon", "template"})
_INTELLIGENCE = table_of(DocumentIntelligence)
_EVENTS = table_of(GlobalEvent)


def stored_extraction(engine: Engine, document_id: int,
                      variant: VariantConfig) -> DocumentExtraction | None:
    """The output this variant and prompt already produced for the document, if any.

    A replay reuses it instead of asking the LLM again: same rows, no tokens spent.
    """
    i = _INTELLIGENCE.c
    with engine.connect() as conn:
        output = conn.execute(sa.select(i.output).where(
            i.document_id == document_id, i.agent_variant_id == variant.variant_id,
            i.prompt_hash == variant.prompt_hash)).scalar()
    try:
        return DocumentExtraction.model_validate(output) if output else None
    except ValidationError:
        return None


def stored_classification(engine: Engine, document_id: int,
                          variant: VariantConfig) -> EventClassification | None:
    """The events this variant and prompt already classified for the document, if any."""
    e = _EVENTS.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(e.summary, e.output).where(
            e.document_id == document_id, e.agent_variant_id == variant.variant_id,
            e.prompt_hash == variant.prompt_hash).order_by(e.event_type, e.region)).all()
    try:
        events = [MacroEvent.model_validate(r.output) for r in rows]
    except ValidationError:
        return None
    return EventClassification(summary=rows[0].summary or "", events=events) if rows else None


def _messages(system: str, document: WorkDocument) -> list[dict[str, str]]:
    body = f"Title: {document.title or ''}\nPublished: {document.published_at.isoformat()}\n\n"
    return [{"role": "system", "content": system},
            {"role": "user", "content": body + document.text[:MAX_PROMPT_TEXT]}]


def _log_local(engine: Engine, variant: VariantConfig, document_id: int, started: float) -> None:
    with engine.begin() as conn:
        log_call(conn, variant, document_id=document_id, outcome=CallOutcome.VALID,
                 latency_ms=(time.perf_counter() - started) * 1000, prompt_tokens=None,
                 completion_tokens=None, error=None, occurred_at=utcnow())


def extract_document(document: WorkDocument, variant: VariantConfig, *,
                     llm: LLMClient | None, budget: TokenBudget,
                     engine: Engine) -> DocumentExtraction:
    """The document-extractor's output; raises ``LLMError`` on the LLM path."""
    started = time.perf_counter()
    if variant.provider in LOCAL_PROVIDERS or llm is None:
        output = LexiconExtractor().extract(document.text, document.companies, document.title)
        _log_local(engine, variant, document.id, started)
        return output
    stored = stored_extraction(engine, document.id, variant)
    if stored is not None:
        return stored
    system = (variant.prompt_template or "").format(
        event_types=", ".join(EVENT_TYPES),
        companies=", ".join(c.ticker for c in document.companies) or "none")
    return call_structured(llm, variant, _messages(system, document), DocumentExtraction,
                           budget=budget, engine=engine, document_id=document.id).output


def classify_document(document: WorkDocument, variant: VariantConfig, *,
                      llm: LLMClient | None, budget: TokenBudget,
                      engine: Engine) -> EventClassification:
    """The event-classifier's output; raises ``LLMError`` on the LLM path."""
    started = time.perf_counter()
    if variant.provider in LOCAL_PROVIDERS or llm is None:
        output = classify_events(document.text, document.title)
        _log_local(engine, variant, document.id, started)
        return output
    stored = stored_classification(engine, document.id, variant)
    if stored is not None:
        return stored
    return call_structured(llm, variant, _messages(variant.prompt_template or "", document),
                           EventClassification, budget=budget, engine=engine,
                           document_id=document.id).output
