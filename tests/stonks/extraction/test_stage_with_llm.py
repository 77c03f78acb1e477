"""The signal stage with an LLM configured: validation, repair, failure, budget, outage."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from stonks.config import Settings
from stonks.db import get_engine
from stonks.extraction.prompts import DOCUMENT_EXTRACTOR_PROMPT, prompt_hash
from stonks.extraction.stage import run_signal_stage
from tests.stonks.extraction.conftest import DocumentSpec
from tests.stonks.extraction.llm_server import FakeLLMServer, Step, ollama_answer, openai_answer

T0 = datetime(2010, 1, 25, 21, 35, tzinfo=UTC)
DOCS: list[DocumentSpec] = [
    ("extraction", "Apple posts record quarter", "Apple beat estimates.", ["AAPL"], T0),
    ("extraction", "Microsoft misses", "Microsoft missed estimates.", ["MSFT"],
     T0.replace(hour=22)),
    ("extraction", "IBM tops forecasts", "IBM topped forecasts.", ["IBM"], T0.replace(hour=23)),
]


def answer(ticker: str, direction: str = "bullish") -> str:
    return json.dumps({"summary": f"{ticker} news", "sentiment": 0.5, "confidence": 0.7,
                       "event_types": ["earnings_beat"],
                       "companies": [{"ticker": ticker, "direction": direction,
                                      "magnitude": 0.6, "confidence": 0.7,
                                      "horizon": "short", "event_types": ["earnings_beat"]}]})


def _settings(make: Callable[..., Settings], server: FakeLLMServer, **extra: Any) -> Settings:
    values: dict[str, Any] = {"llm_provider": "ollama", "llm_base_url": server.url,
                              "llm_model": "llama3.1:8b", "llm_max_attempts": 1,
                              "llm_backoff_base_s": 0.0, **extra}
    return make(**values)


def _rows(settings: Settings, query: str) -> list[Any]:
    with get_engine(settings.effective_database_url).connect() as conn:
        return list(conn.execute(sa.text(query)).all())


def test_valid_llm_output_is_stored_with_its_model_and_prompt_hash(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server)
    parsed_documents(get_engine(settings.effective_database_url), DOCS[:1])
    llm_server.script(ollama_answer(answer("AAPL")))
    summary = run_signal_stage(settings=settings)
    assert summary["extracted"] == 1 and summary["tokens_spent"] == 150
    (row,) = _rows(settings, "SELECT ticker, direction, model_name, prompt_hash, "
                             "agent_variant_id FROM document_impact_records")
    assert (row.ticker, row.direction, row.model_name) == ("AAPL", "bullish", "llama3.1:8b")
    assert row.prompt_hash == prompt_hash(DOCUMENT_EXTRACTOR_PROMPT)
    (log,) = _rows(settings, "SELECT outcome, prompt_tokens, completion_tokens, variant_id "
                             "FROM agent_performance_log")
    assert (log.outcome, log.prompt_tokens, log.completion_tokens) == ("valid", 100, 50)
    assert log.variant_id == row.agent_variant_id


def test_invalid_output_gets_one_repair_retry(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server)
    parsed_documents(get_engine(settings.effective_database_url), DOCS[:1])
    llm_server.script(ollama_answer('{"summary": "no sentiment"}'),
                      ollama_answer(answer("AAPL")))
    assert run_signal_stage(settings=settings)["extracted"] == 1
    outcomes = [r.outcome for r in _rows(settings, "SELECT outcome FROM agent_performance_log "
                                                   "ORDER BY id")]
    assert outcomes == ["invalid", "repaired"]
    repair_messages = llm_server.requests[1][1]["messages"]
    assert "rejected" in repair_messages[-1]["content"]
    assert "sentiment" in repair_messages[-1]["content"]


def test_output_invalid_after_repair_marks_the_document_failed_with_the_reason(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server)
    parsed_documents(get_engine(settings.effective_database_url), DOCS[:1])
    llm_server.script(ollama_answer("not json at all"),
                      ollama_answer(answer("AAPL")[:30], done_reason="length"))
    summary = run_signal_stage(settings=settings)
    assert summary["failed"] == 1
    (doc,) = _rows(settings, "SELECT status, error FROM documents")
    assert doc.status == "failed"
    assert "invalid after repair" in doc.error and "truncated" in doc.error
    assert _rows(settings, "SELECT count(*) FROM document_impact_records")[0][0] == 0


def test_budget_exhaustion_leaves_the_rest_pending_for_the_next_run(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server, llm_token_budget_per_run=1300,
                         llm_max_output_tokens=256)
    parsed_documents(get_engine(settings.effective_database_url), DOCS)
    llm_server.script(ollama_answer(answer("AAPL"), prompt=1000, completion=200))
    first = run_signal_stage(settings=settings)
    assert first["extracted"] == 1 and first["left_pending"] == 1
    assert first["stopped"].startswith("budget exhausted")
    statuses = _rows(settings, "SELECT status FROM documents ORDER BY published_at")
    assert [s.status for s in statuses] == ["extracted", "parsed", "parsed"]
    assert len(llm_server.requests) == 1
    budget_logs = _rows(settings, "SELECT count(*) FROM agent_performance_log "
                                  "WHERE outcome = 'budget_exhausted'")
    assert budget_logs[0][0] == 1

    llm_server.script(ollama_answer(answer("MSFT", "bearish")), ollama_answer(answer("IBM")))
    second = run_signal_stage(settings=_settings(stage_settings, llm_server))
    assert second["extracted"] == 2 and second["stopped"] is None
    statuses = _rows(settings, "SELECT status FROM documents")
    assert {s.status for s in statuses} == {"extracted"}


def test_an_unreachable_llm_leaves_documents_pending(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server, llm_timeout_s=0.2)
    parsed_documents(get_engine(settings.effective_database_url), DOCS)
    llm_server.script(Step(delay_s=0.6, body={}))
    summary = run_signal_stage(settings=settings)
    assert summary["stopped"].startswith("llm unavailable")
    statuses = _rows(settings, "SELECT status, error FROM documents ORDER BY published_at")
    assert [s.status for s in statuses] == ["parsed"] * 3
    assert "timeout" in statuses[0].error
    assert _rows(settings, "SELECT outcome FROM agent_performance_log")[0][0] == "timeout"


def test_the_event_classifier_uses_an_openai_compatible_server(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server, llm_provider="openai",
                         llm_model="qwen2.5-7b")
    parsed_documents(get_engine(settings.effective_database_url),
                     [("macro", "Fed raises rates", "The Fed raised rates by 50bp.", [], T0)])
    event = {"event_type": "rate_hike", "title": "Fed raises rates", "region": "us",
             "direction": "bearish", "severity": 0.8, "confidence": 0.9,
             "affected_sectors": ["Financials"], "affected_commodities": [],
             "rate_shock": 0.9, "commodity_shocks": {}}
    llm_server.script(openai_answer(json.dumps({"summary": "Fed hike", "events": [event]})))
    assert run_signal_stage(settings=settings)["classified"] == 1
    (stored,) = _rows(settings, "SELECT event_type, region, model_name FROM global_events")
    assert tuple(stored) == ("rate_hike", "us", "qwen2.5-7b")
    impacts = {r.ticker: r for r in _rows(settings, "SELECT ticker, direction, exposure_score "
                                                    "FROM macro_impact_records")}
    assert set(impacts) == set(settings.tracked_tickers)
    assert impacts["JPM"].exposure_score > impacts["MSFT"].exposure_score
    assert llm_server.requests[0][0] == "/v1/chat/completions"


def test_a_replay_reuses_the_stored_llm_output_instead_of_calling_again(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server)
    engine = get_engine(settings.effective_database_url)
    parsed_documents(engine, DOCS[:1])
    llm_server.script(ollama_answer(answer("AAPL")))
    run_signal_stage(settings=settings)
    query = "SELECT ticker, direction, magnitude, model_name, prompt_hash FROM " \
            "document_impact_records"
    first = _rows(settings, query)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE documents SET status = 'parsed'"))
    replay = run_signal_stage(settings=settings)
    assert replay["extracted"] == 1 and replay["tokens_spent"] == 0
    assert len(llm_server.requests) == 1
    assert _rows(settings, query) == first


def test_a_document_that_keeps_timing_out_is_failed_after_max_attempts(
        stage_settings: Callable[..., Settings], llm_server: FakeLLMServer,
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = _settings(stage_settings, llm_server, llm_timeout_s=0.2,
                         extraction_max_attempts=2)
    parsed_documents(get_engine(settings.effective_database_url), DOCS[:1])
    llm_server.default = Step(delay_s=0.5, body={})
    assert run_signal_stage(settings=settings)["left_pending"] == 1
    assert run_signal_stage(settings=settings)["failed"] == 1
    (doc,) = _rows(settings, "SELECT status, error FROM documents")
    assert doc.status == "failed" and doc.error.startswith("gave up")
