"""The exception tree of the LLM boundary: callers never see httpx errors."""

from __future__ import annotations

from stonks.errors import StonksError


class LLMError(StonksError):
    """Base of every error an LLM call raises."""


class LLMUnavailable(LLMError):
    """The server could not be reached, timed out or answered 5xx after every retry."""


class LLMResponseInvalid(LLMError):
    """The answer is not JSON, was truncated, or does not match the output schema."""


class LLMBudgetExhausted(LLMError):
    """This run's token budget is spent; the remaining documents wait for the next run."""
