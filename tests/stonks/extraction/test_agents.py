"""Agent variants: seeded defaults, weighted A/B picks that are stable, a 60 s cache."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.config import load_settings
from stonks.extraction.agents import (
    CACHE_TTL_S,
    DOCUMENT_EXTRACTOR,
    EVENT_CLASSIFIER,
    AgentConfigResolver,
    ensure_agents,
)
from stonks.extraction.lexicon_terms import LEXICON_VERSION


def _add_variant(engine: Engine, name: str, weight: float) -> None:
    with engine.begin() as conn:
        agent_id = conn.execute(sa.text("SELECT id FROM ai_agents WHERE key = :k"),
                                {"k": DOCUMENT_EXTRACTOR}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO agent_variants (agent_id, name, provider, model_name, parameters, "
            "weight, enabled, created_at, updated_at) VALUES (:a, :n, 'ollama', :n, '{}', :w, "
            "true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"a": agent_id, "n": name, "w": weight})


def test_embedded_default_seeds_lexicon_variants(sqlite_engine: Engine) -> None:
    ensure_agents(sqlite_engine, load_settings())
    ensure_agents(sqlite_engine, load_settings())  # idempotent
    resolver = AgentConfigResolver(sqlite_engine)
    (extractor,) = resolver.variants(DOCUMENT_EXTRACTOR)
    assert (extractor.provider, extractor.model_name) == ("lexicon", "lexicon-v1")
    assert extractor.prompt_hash == LEXICON_VERSION
    (classifier,) = resolver.variants(EVENT_CLASSIFIER)
    assert classifier.prompt_hash and classifier.model_name == "macro-rules-v1"


def test_configured_llm_becomes_the_default_and_lexicon_a_fallback(
        sqlite_engine: Engine) -> None:
    settings = load_settings(llm_provider="ollama", llm_base_url="http://127.0.0.1:1",
                             llm_model="llama3.1:8b")
    ensure_agents(sqlite_engine, settings)
    resolver = AgentConfigResolver(sqlite_engine)
    assert resolver.pick(DOCUMENT_EXTRACTOR, 1).model_name == "llama3.1:8b"
    assert resolver.pick(DOCUMENT_EXTRACTOR, 1, local_only=True).provider == "lexicon"


def test_variant_weights_split_documents_and_each_document_keeps_its_variant(
        sqlite_engine: Engine) -> None:
    ensure_agents(sqlite_engine, load_settings(llm_provider="ollama",
                                               llm_base_url="http://127.0.0.1:1",
                                               llm_model="model-a"))
    with sqlite_engine.begin() as conn:
        conn.execute(sa.text("UPDATE agent_variants SET weight = 0.75 "
                             "WHERE model_name = 'model-a'"))
    _add_variant(sqlite_engine, "model-b", 0.25)
    resolver = AgentConfigResolver(sqlite_engine)
    picks = Counter(resolver.pick(DOCUMENT_EXTRACTOR, doc).model_name for doc in range(2000))
    assert set(picks) == {"model-a", "model-b"}
    assert 0.70 < picks["model-a"] / 2000 < 0.80
    again = AgentConfigResolver(sqlite_engine)
    assert all(again.pick(DOCUMENT_EXTRACTOR, d) == resolver.pick(DOCUMENT_EXTRACTOR, d)
               for d in range(200))


def test_variants_are_cached_for_sixty_seconds(sqlite_engine: Engine) -> None:
    ensure_agents(sqlite_engine, load_settings())
    now = [1000.0]
    resolver = AgentConfigResolver(sqlite_engine, clock=lambda: now[0])
    assert len(resolver.variants(DOCUMENT_EXTRACTOR)) == 1
    _add_variant(sqlite_engine, "new-model", 1.0)
    now[0] += CACHE_TTL_S - 1
    assert len(resolver.variants(DOCUMENT_EXTRACTOR)) == 1
    now[0] += 2
    assert len(resolver.variants(DOCUMENT_EXTRACTOR)) == 2
    assert CACHE_TTL_S == 60.0
