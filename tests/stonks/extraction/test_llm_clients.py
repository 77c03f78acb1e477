"""The Ollama and OpenAI-compatible clients against a local server speaking their APIs."""

from __future__ import annotations

import json
import time

import pytest

from stonks.extraction.errors import (
    LLMBudgetExhausted,
    LLMError,
    LLMResponseInvalid,
    LLMUnavailable,
)
from stonks.extraction.llm_clients import OllamaClient, OpenAIClient, TokenBudget
from stonks.extraction.schemas import DocumentExtraction, json_schema
from tests.stonks.extraction.llm_server import (
    FakeLLMServer,
    Step,
    ollama_answer,
    openai_answer,
)

VALID = json.dumps({"summary": "Apple beat.", "sentiment": 0.6, "confidence": 0.8,
                    "event_types": ["earnings_beat"],
                    "companies": [{"ticker": "AAPL", "direction": "bullish", "magnitude": 0.6,
                                   "confidence": 0.8}]})
MESSAGES = [{"role": "user", "content": "Apple beat estimates."}]
SCHEMA = json_schema(DocumentExtraction)


def _ollama(server: FakeLLMServer, **kwargs: float) -> OllamaClient:
    return OllamaClient(server.url, backoff_base_s=0.01, **kwargs)  # type: ignore[arg-type]


def _openai(server: FakeLLMServer, **kwargs: float) -> OpenAIClient:
    return OpenAIClient(server.url, api_key="sk-test", backoff_base_s=0.01,
                        **kwargs)  # type: ignore[arg-type]


def test_ollama_chat_sends_the_schema_as_format_and_counts_tokens(
        llm_server: FakeLLMServer) -> None:
    llm_server.script(ollama_answer(VALID, prompt=120, completion=40))
    budget = TokenBudget(10_000)
    reply = _ollama(llm_server).chat(MESSAGES, SCHEMA, model="llama3.1:8b", budget=budget)
    assert DocumentExtraction.model_validate(reply.json()).companies[0].ticker == "AAPL"
    path, body = llm_server.requests[0]
    assert path == "/api/chat"
    assert body["format"] == SCHEMA and body["stream"] is False
    assert body["model"] == "llama3.1:8b" and body["options"]["temperature"] == 0
    assert budget.spent == 160 and reply.total_tokens == 160


def test_openai_chat_sends_a_json_schema_response_format(llm_server: FakeLLMServer) -> None:
    llm_server.script(openai_answer(VALID, prompt=90, completion=30))
    budget = TokenBudget(10_000)
    reply = _openai(llm_server).chat(MESSAGES, SCHEMA, model="qwen2.5-7b", budget=budget,
                                     schema_name="DocumentExtraction")
    assert reply.content == VALID and budget.spent == 120
    path, body = llm_server.requests[0]
    assert path == "/v1/chat/completions"
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "DocumentExtraction", "schema": SCHEMA}}
    assert body["stream"] is False


def test_a_server_error_is_retried_then_succeeds(llm_server: FakeLLMServer) -> None:
    llm_server.script(Step({"error": "loading model"}, status=503), openai_answer(VALID))
    reply = _openai(llm_server).chat(MESSAGES, SCHEMA, model="m", budget=TokenBudget(10_000))
    assert reply.content == VALID and len(llm_server.requests) == 2


def test_a_slow_server_times_out_and_is_reported_unavailable(
        llm_server: FakeLLMServer) -> None:
    llm_server.script(*(Step(delay_s=1.0, body={}) for _ in range(2)))
    client = _ollama(llm_server, timeout_s=0.2, max_attempts=2)  # type: ignore[arg-type]
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable, match="timeout"):
        client.chat(MESSAGES, SCHEMA, model="m", budget=TokenBudget(10_000))
    assert time.perf_counter() - started < 1.5
    assert len(llm_server.requests) == 2


def test_an_unreachable_server_is_unavailable_not_an_httpx_error() -> None:
    client = OllamaClient("http://127.0.0.1:9", max_attempts=1, connect_timeout_s=0.2)
    with pytest.raises(LLMUnavailable):
        client.chat(MESSAGES, SCHEMA, model="m", budget=TokenBudget(10_000))


@pytest.mark.parametrize("step", [
    ollama_answer(VALID[:40], done_reason="length"),
    openai_answer(VALID[:40], finish_reason="length"),
], ids=["ollama", "openai"])
def test_a_truncated_answer_is_invalid_and_its_tokens_are_charged(
        llm_server: FakeLLMServer, step: Step) -> None:
    llm_server.script(step)
    client = _ollama(llm_server) if "message" in step.body else _openai(llm_server)
    budget = TokenBudget(10_000)
    with pytest.raises(LLMResponseInvalid, match="truncated"):
        client.chat(MESSAGES, SCHEMA, model="m", budget=budget)
    assert budget.spent == 150


def test_a_non_json_body_is_invalid(llm_server: FakeLLMServer) -> None:
    llm_server.script(Step(raw=b"<html>gateway</html>"))
    with pytest.raises(LLMResponseInvalid):
        _openai(llm_server).chat(MESSAGES, SCHEMA, model="m", budget=TokenBudget(10_000))


def test_a_spent_budget_refuses_the_call_before_sending(llm_server: FakeLLMServer) -> None:
    budget = TokenBudget(100)
    budget.charge(100)
    with pytest.raises(LLMBudgetExhausted):
        _ollama(llm_server).chat(MESSAGES, SCHEMA, model="m", budget=budget)
    assert llm_server.requests == []
    assert issubclass(LLMBudgetExhausted, LLMError)


def test_settings_choose_the_client_and_demand_an_endpoint() -> None:
    from stonks.config import load_settings
    from stonks.errors import ConfigurationError
    from stonks.extraction.llm_clients import client_from_settings

    assert client_from_settings(load_settings()) is None  # embedded: the lexicon
    ollama = client_from_settings(load_settings(
        llm_provider="ollama", llm_base_url="http://127.0.0.1:11434", llm_model="llama3.1:8b"))
    assert isinstance(ollama, OllamaClient)
    vllm = client_from_settings(load_settings(
        llm_provider="openai", llm_base_url="http://127.0.0.1:8000", llm_model="qwen",
        llm_api_key="sk-secret-value"))
    assert isinstance(vllm, OpenAIClient)
    with pytest.raises(ConfigurationError, match="STONKS_LLM_BASE_URL"):
        load_settings(llm_provider="ollama")
    assert "sk-secret-value" not in repr(load_settings(
        llm_provider="openai", llm_base_url="http://127.0.0.1:8000", llm_model="qwen",
        llm_api_key="sk-secret-value"))
