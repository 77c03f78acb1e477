"""Agents and their variants: which model and prompt each agent uses, and a call log.

:class:`AgentConfigResolver` reads ``ai_agents``/``agent_variants`` through a 60 s TTL cache
and picks a variant per document in proportion to the variants' weights. The pick is a
hash of (agent, document id), not a random draw, so an A/B split is stable and a replay
uses the same variant. :func:`ensure_agents` seeds the three agents with the default
variant for the configured provider (the lexicon/rules when no LLM is configured).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.config import Settings
from stonks.db.conflict import table_of
from stonks.extraction.lexicon_terms import LEXICON_MODEL, LEXICON_VERSION
from stonks.extraction.prompts import PROMPTS, prompt_hash
from stonks.extraction.upserts import upsert_rows
from stonks.macro.events import MACRO_RULES_MODEL, MACRO_RULES_VERSION
from stonks.models import AgentPerformanceLog, AgentVariant, AiAgent
from stonks.models.agents import CallOutcome
from stonks.models.types import utcnow

logger = logging.getLogger(__name__)

DOCUMENT_EXTRACTOR = "document-extractor"
EVENT_CLASSIFIER = "event-classifier"
THESIS_REWRITER = "thesis-rewriter"
AGENTS = {
    DOCUMENT_EXTRACTOR: "Extracts per-company direction, magnitude and events from documents.",
    EVENT_CLASSIFIER: "Classifies macro and geopolitical events with affected sectors.",
    THESIS_REWRITER: "Rewrites a recommendation's evidence into a readable thesis.",
}
#: Variant used when no LLM is configured, per agent: (provider, model, prompt hash).
EMBEDDED_VARIANTS = {
    DOCUMENT_EXTRACTOR: ("lexicon", LEXICON_MODEL, LEXICON_VERSION),
    EVENT_CLASSIFIER: ("lexicon", MACRO_RULES_MODEL, MACRO_RULES_VERSION),
    THESIS_REWRITER: ("template", "thesis-template-v1", prompt_hash("thesis-template-v1")),
}
CACHE_TTL_S = 60.0

_AGENTS = table_of(AiAgent)
_VARIANTS = table_of(AgentVariant)
_LOG = table_of(AgentPerformanceLog)


@dataclass(frozen=True)
class VariantConfig:
    """The model and prompt one call uses, and the ids its results are stamped with."""

    agent_id: int
    agent_key: str
    variant_id: int
    name: str
    provider: str
    model_name: str
    prompt_template: str | None
    prompt_hash: str | None
    weight: float
    parameters: dict[str, Any]


def ensure_agents(engine: Engine, settings: Settings) -> None:
    """Create the agents and the default variant of the configured provider (idempotent)."""
    now = utcnow()
    with engine.begin() as conn:
        agents = [{"key": k, "name": k.replace("-", " ").title(), "description": d,
                   "enabled": True, "created_at": now, "updated_at": now}
                  for k, d in AGENTS.items()]
        upsert_rows(conn, _AGENTS, agents, ["key"], update=["description"])
        keys = conn.execute(sa.select(_AGENTS.c.key, _AGENTS.c.id))
        ids = {str(k): int(i) for k, i in keys}
        rows = []
        for key, (provider, model, digest) in EMBEDDED_VARIANTS.items():
            rows.append({"agent_id": ids[key], "name": "embedded", "provider": provider,
                         "model_name": model, "prompt_template": None, "prompt_hash": digest,
                         "parameters": {}, "weight": 1.0, "enabled": True,
                         "created_at": now, "updated_at": now})
            if settings.llm_provider != "none" and settings.llm_model and key in PROMPTS:
                rows.append({"agent_id": ids[key], "name": f"{settings.llm_provider}-default",
                             "provider": settings.llm_provider, "model_name": settings.llm_model,
                             "prompt_template": PROMPTS[key],
                             "prompt_hash": prompt_hash(PROMPTS[key]), "parameters": {},
                             "weight": 1.0, "enabled": True, "created_at": now,
                             "updated_at": now})
        upsert_rows(conn, _VARIANTS, rows, ["agent_id", "name"],
               update=["provider", "model_name", "prompt_template", "prompt_hash"])
        if settings.llm_provider != "none":
            # With an LLM configured the lexicon (and the thesis template) stays as a fallback
            # variant, not in the A/B.
            conn.execute(sa.update(_VARIANTS).where(
                _VARIANTS.c.name == "embedded",
                _VARIANTS.c.provider.in_(["lexicon", "template"])).values(weight=0.0))


class AgentConfigResolver:
    """Enabled variants per agent, cached for ``ttl_s``; weighted, stable picks."""

    def __init__(self, engine: Engine, *, ttl_s: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, list[VariantConfig]]] = {}

    def variants(self, agent_key: str) -> list[VariantConfig]:
        now = self._clock()
        cached = self._cache.get(agent_key)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        query = (sa.select(_VARIANTS, _AGENTS.c.key.label("agent_key"))
                 .join(_AGENTS, _AGENTS.c.id == _VARIANTS.c.agent_id)
                 .where(_AGENTS.c.key == agent_key, _AGENTS.c.enabled.is_(True),
                        _VARIANTS.c.enabled.is_(True))
                 .order_by(_VARIANTS.c.id))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        variants = [VariantConfig(
            agent_id=int(r.agent_id), agent_key=str(r.agent_key), variant_id=int(r.id),
            name=str(r.name), provider=str(r.provider), model_name=str(r.model_name),
            prompt_template=r.prompt_template, prompt_hash=r.prompt_hash,
            weight=float(r.weight), parameters=dict(r.parameters or {})) for r in rows]
        self._cache[agent_key] = (now, variants)
        return variants

    def pick(self, agent_key: str, subject: str | int, *,
             local_only: bool = False) -> VariantConfig:
        """The variant for one subject (document id): weighted, stable across runs.

        ``local_only`` (no LLM configured) restricts the pick to the lexicon/rules variants.
        """
        variants = self.variants(agent_key)
        if local_only:
            variants = [v for v in variants if v.provider in ("lexicon", "template")]
        weighted = [v for v in variants if v.weight > 0] or variants
        if not weighted:
            raise LookupError(f"agent {agent_key!r} has no enabled variant")
        total = sum(v.weight for v in weighted) or float(len(weighted))
        digest = hashlib.sha256(f"{agent_key}:{subject}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * total
        for variant in weighted:
            point -= variant.weight if total else 1.0
            if point < 0:
                return variant
        return weighted[-1]


def log_call(conn: sa.Connection, variant: VariantConfig, *, document_id: int | None,
             outcome: CallOutcome, latency_ms: float, prompt_tokens: int | None,
             completion_tokens: int | None, error: str | None, occurred_at: datetime,
             details: dict[str, Any] | None = None) -> None:
    """One row of ``agent_performance_log``: latency, tokens, and whether it validated."""
    conn.execute(sa.insert(_LOG).values(
        agent_id=variant.agent_id, variant_id=variant.variant_id, document_id=document_id,
        model_name=variant.model_name, outcome=outcome.value, latency_ms=round(latency_ms, 3),
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        error=error[:2000] if error else None, occurred_at=occurred_at,
        details=details or {}, created_at=utcnow()))
