"""Layer 1 — company signals: LLM or lexicon extraction of parsed documents.

The stage that runs all three layers is :func:`stonks.extraction.stage.run_signal_stage`;
agents and variants are in :mod:`stonks.extraction.agents`.
"""

from stonks.extraction.errors import (
    LLMBudgetExhausted,
    LLMError,
    LLMResponseInvalid,
    LLMUnavailable,
)
from stonks.extraction.lexicon import LexiconExtractor, MentionedCompany
from stonks.extraction.llm_clients import (
    LLMClient,
    LLMReply,
    OllamaClient,
    OpenAIClient,
    TokenBudget,
    client_from_settings,
)
from stonks.extraction.schemas import (
    CompanyImpact,
    DocumentExtraction,
    EventClassification,
    MacroEvent,
)

__all__ = [
    "CompanyImpact",
    "DocumentExtraction",
    "EventClassification",
    "LLMBudgetExhausted",
    "LLMClient",
    "LLMError",
    "LLMReply",
    "LLMResponseInvalid",
    "LLMUnavailable",
    "LexiconExtractor",
    "MacroEvent",
    "MentionedCompany",
    "OllamaClient",
    "OpenAIClient",
    "TokenBudget",
    "client_from_settings",
]
