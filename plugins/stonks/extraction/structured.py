"""One structured LLM call: validate against a pydantic schema, repair once, log it.

An answer that is not JSON, was truncated, or does not match the schema gets exactly one
repair round (the error is sent back); if that fails too the call raises
:class:`LLMResponseInvalid` with both reasons. Every attempt is written to
``agent_performance_log`` with latency, tokens and outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from stonks.extraction.agents import VariantConfig, log_call
from stonks.extraction.errors import (
    LLMBudgetExhausted,
    LLMError,
    LLMResponseInvalid,
    LLMUnavailable,
)
from stonks.extraction.llm_clients import LLMClient, LLMReply, TokenBudget
from stonks.extraction.prompts import REPAIR_PROMPT
from stonks.extraction.schemas import json_schema
from stonks.models.agents import CallOutcome
from stonks.models.types import utcnow

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    output: T
    outcome: CallOutcome
    prompt_tokens: int
    completion_tokens: int


def _validate(reply: LLMReply, model: type[T]) -> T:
    try:
        return model.model_validate(reply.json())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise LLMResponseInvalid(f"schema mismatch: {problems}") from exc


def call_structured(client: LLMClient, variant: VariantConfig, messages: list[dict[str, str]],
                    model: type[T], *, budget: TokenBudget, engine: Engine,
                    document_id: int | None) -> StructuredResult[T]:
    """Ask for ``model``-shaped JSON; one repair retry; raises an ``LLMError``."""
    schema = json_schema(model)
    tokens = [0, 0]
    conversation = list(messages)
    first_error: str | None = None
    for attempt in (1, 2):
        started = time.perf_counter()
        reply: LLMReply | None = None
        try:
            reply = client.chat(conversation, schema, model=variant.model_name, budget=budget,
                                schema_name=model.__name__)
            tokens[0] += reply.prompt_tokens
            tokens[1] += reply.completion_tokens
            output = _validate(reply, model)
        except LLMResponseInvalid as exc:
            truncated = getattr(exc, "reply", None)
            if isinstance(truncated, LLMReply):
                tokens[0] += truncated.prompt_tokens
                tokens[1] += truncated.completion_tokens
            _log(engine, variant, document_id, CallOutcome.INVALID, started, reply, str(exc),
                 attempt)
            if first_error is not None:
                raise LLMResponseInvalid(f"invalid after repair: {first_error}; then {exc}"
                                         ) from exc
            first_error = str(exc)
            bad = reply.content if reply is not None else ""
            conversation = [*messages, {"role": "assistant", "content": bad[:4000]},
                            {"role": "user", "content": REPAIR_PROMPT.format(error=exc)}]
            continue
        except LLMBudgetExhausted as exc:
            _log(engine, variant, document_id, CallOutcome.BUDGET_EXHAUSTED, started, None,
                 str(exc), attempt)
            raise
        except LLMUnavailable as exc:
            outcome = CallOutcome.TIMEOUT if "timeout" in str(exc) else CallOutcome.ERROR
            _log(engine, variant, document_id, outcome, started, None, str(exc), attempt)
            raise
        outcome = CallOutcome.VALID if attempt == 1 else CallOutcome.REPAIRED
        _log(engine, variant, document_id, outcome, started, reply, None, attempt)
        return StructuredResult(output, outcome, tokens[0], tokens[1])
    raise LLMError("unreachable")  # pragma: no cover


def _log(engine: Engine, variant: VariantConfig, document_id: int | None,
         outcome: CallOutcome, started: float, reply: LLMReply | None, error: str | None,
         attempt: int) -> None:
    with engine.begin() as conn:
        log_call(conn, variant, document_id=document_id, outcome=outcome,
                 latency_ms=(time.perf_counter() - started) * 1000,
                 prompt_tokens=reply.prompt_tokens if reply else None,
                 completion_tokens=reply.completion_tokens if reply else None,
                 error=error, occurred_at=utcnow(), details={"attempt": attempt})
