"""HTTP clients for Ollama (``/api/chat``) and OpenAI-compatible servers (vLLM, …).

Both ask for structured output (Ollama's ``format`` JSON schema, OpenAI's
``response_format`` json_schema), non-streaming, temperature 0. Timeouts are explicit;
connection errors, timeouts and 5xx answers are retried with backoff, then raised as
:class:`LLMUnavailable`. Every call is charged to a :class:`TokenBudget`; when the budget
is spent the call is refused with :class:`LLMBudgetExhausted` before anything is sent.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from stonks.config import Settings
from stonks.errors import ConfigurationError
from stonks.extraction.errors import LLMBudgetExhausted, LLMResponseInvalid, LLMUnavailable

logger = logging.getLogger(__name__)

#: Rough characters per token, to refuse a prompt the remaining budget cannot pay for.
CHARS_PER_TOKEN = 4


class TokenBudget:
    """Tokens one run may spend on LLM calls (prompt + completion)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.limit

    def reserve(self, estimated: int) -> None:
        """Refuse a call whose estimated cost the remaining budget cannot cover."""
        if self.exhausted or estimated > self.remaining:
            raise LLMBudgetExhausted(
                f"token budget spent: {self.spent}/{self.limit}, next call needs ~{estimated}")

    def charge(self, tokens: int) -> None:
        self.spent += max(0, tokens)


@dataclass(frozen=True)
class LLMReply:
    """One structured-output answer and what it cost."""

    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except json.JSONDecodeError as exc:
            raise LLMResponseInvalid(f"answer is not JSON ({exc.msg} at {exc.pos})") from exc


class LLMClient(Protocol):
    provider: str

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], *, model: str,
             budget: TokenBudget, schema_name: str = "output") -> LLMReply: ...


class _HTTPClient:
    provider = "http"
    path = "/"

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 60.0,
                 connect_timeout_s: float = 5.0, max_attempts: int = 3,
                 backoff_base_s: float = 0.5, max_output_tokens: int = 1024,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.max_output_tokens = max_output_tokens

    def close(self) -> None:
        self._http.close()

    def _body(self, messages: list[dict[str, str]], schema: dict[str, Any], model: str,
              schema_name: str) -> dict[str, Any]:
        raise NotImplementedError

    def _reply(self, data: dict[str, Any], model: str, latency_ms: float) -> LLMReply:
        raise NotImplementedError

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], *, model: str,
             budget: TokenBudget, schema_name: str = "output") -> LLMReply:
        prompt_chars = sum(len(m["content"]) for m in messages) + len(json.dumps(schema))
        budget.reserve(prompt_chars // CHARS_PER_TOKEN + self.max_output_tokens // 4)
        body = self._body(messages, schema, model, schema_name)
        last_error = "no attempt"
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter()
            try:
                response = self._http.post(self.path, json=body)
            except httpx.TimeoutException as exc:
                last_error = f"timeout: {type(exc).__name__}"
            except httpx.TransportError as exc:
                last_error = f"transport error: {type(exc).__name__}: {exc}"
            else:
                latency_ms = (time.perf_counter() - started) * 1000
                if response.status_code < 500 and response.status_code != 429:
                    if response.status_code >= 400:
                        raise LLMUnavailable(f"{self.provider} answered {response.status_code}: "
                                             f"{response.text[:200]}")
                    try:
                        data = response.json()
                    except ValueError as exc:
                        raise LLMResponseInvalid("response body is not JSON") from exc
                    try:
                        reply = self._reply(data, model, latency_ms)
                    except _Truncated as exc:
                        budget.charge(exc.reply.total_tokens)
                        raise
                    budget.charge(reply.total_tokens)
                    return reply
                last_error = f"{self.provider} answered {response.status_code}"
            logger.warning("llm call failed", extra={"provider": self.provider,
                                                     "attempt": attempt, "error": last_error})
            if attempt < self.max_attempts:
                time.sleep(self.backoff_base_s * 2 ** (attempt - 1))
        raise LLMUnavailable(f"{self.provider} unavailable after {self.max_attempts} attempts: "
                             f"{last_error}")


class OllamaClient(_HTTPClient):
    """Ollama ``POST /api/chat`` with ``format`` = the output's JSON schema."""

    provider = "ollama"
    path = "/api/chat"

    def _body(self, messages: list[dict[str, str]], schema: dict[str, Any], model: str,
              schema_name: str) -> dict[str, Any]:
        return {"model": model, "messages": messages, "stream": False, "format": schema,
                "options": {"temperature": 0, "seed": 0, "num_predict": self.max_output_tokens}}

    def _reply(self, data: dict[str, Any], model: str, latency_ms: float) -> LLMReply:
        message = data.get("message") or {}
        content = message.get("content")
        if not isinstance(content, str):
            raise LLMResponseInvalid("ollama answer has no message.content")
        reply = LLMReply(content, str(data.get("model", model)),
                         int(data.get("prompt_eval_count") or 0),
                         int(data.get("eval_count") or 0), latency_ms)
        if data.get("done_reason") == "length" or data.get("done") is False:
            raise _Truncated(reply)
        return reply


class OpenAIClient(_HTTPClient):
    """OpenAI-compatible ``POST /v1/chat/completions`` with a json_schema response_format."""

    provider = "openai"
    path = "/v1/chat/completions"

    def _body(self, messages: list[dict[str, str]], schema: dict[str, Any], model: str,
              schema_name: str) -> dict[str, Any]:
        return {"model": model, "messages": messages, "temperature": 0, "seed": 0,
                "max_tokens": self.max_output_tokens, "stream": False,
                "response_format": {"type": "json_schema",
                                    "json_schema": {"name": schema_name, "schema": schema}}}

    def _reply(self, data: dict[str, Any], model: str, latency_ms: float) -> LLMReply:
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMResponseInvalid("openai answer has no choices[0].message.content") from exc
        usage = data.get("usage") or {}
        reply = LLMReply(str(content or ""), str(data.get("model", model)),
                         int(usage.get("prompt_tokens") or 0),
                         int(usage.get("completion_tokens") or 0), latency_ms)
        if choice.get("finish_reason") == "length":
            raise _Truncated(reply)
        return reply


class _Truncated(LLMResponseInvalid):
    """The answer stopped at the token limit; its tokens were still spent."""

    def __init__(self, reply: LLMReply) -> None:
        super().__init__(f"answer truncated at the token limit ({reply.completion_tokens} "
                         "completion tokens)")
        self.reply = reply


def client_from_settings(settings: Settings) -> LLMClient | None:
    """The configured LLM client, or None for the embedded lexicon default."""
    if settings.llm_provider == "none":
        return None
    if not settings.llm_base_url or not settings.llm_model:
        raise ConfigurationError(
            f"STONKS_LLM_PROVIDER={settings.llm_provider} requires STONKS_LLM_BASE_URL and "
            "STONKS_LLM_MODEL")
    cls: type[_HTTPClient] = OllamaClient if settings.llm_provider == "ollama" else OpenAIClient
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return cls(settings.llm_base_url, api_key=key, timeout_s=settings.llm_timeout_s,
               connect_timeout_s=settings.llm_connect_timeout_s,
               max_attempts=settings.llm_max_attempts,
               backoff_base_s=settings.llm_backoff_base_s,
               max_output_tokens=settings.llm_max_output_tokens)
