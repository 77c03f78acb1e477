"""AI agents, their model/prompt variants (A/B by weight), and a log of every call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from stonks.models.types import (
    HASH,
    JSON,
    SCORE,
    CreatedAtMixin,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
)


class CallOutcome(StrEnum):
    """How one agent call ended."""

    VALID = "valid"
    REPAIRED = "repaired"
    INVALID = "invalid"
    TIMEOUT = "timeout"
    ERROR = "error"
    BUDGET_EXHAUSTED = "budget_exhausted"


class AiAgent(TimestampsMixin, IdMixin, table=True):
    """A role an LLM (or the lexicon) plays, e.g. 'document-extractor'."""

    __tablename__ = "ai_agents"
    __table_args__ = (sa.UniqueConstraint("key"),)

    key: str = Field(sa_type=sa.String(64))
    name: str = Field(sa_type=sa.String(200))
    description: str | None = Field(default=None, sa_type=sa.Text)
    enabled: bool = Field(default=True)


class AgentVariant(TimestampsMixin, IdMixin, table=True):
    """A model + prompt for an agent; enabled variants are picked in proportion to weight."""

    __tablename__ = "agent_variants"
    __table_args__ = (
        sa.UniqueConstraint("agent_id", "name"),
        sa.CheckConstraint("weight >= 0", name="weight_non_negative"),
    )

    agent_id: int = fk_field("ai_agents.id", ondelete="CASCADE", index=False)
    name: str = Field(sa_type=sa.String(64))
    provider: str = Field(
        sa_type=sa.String(32), description="'ollama', 'openai', 'lexicon', 'template'."
    )
    model_name: str = Field(sa_type=sa.String(200))
    prompt_template: str | None = Field(default=None, sa_type=sa.Text)
    prompt_hash: str | None = Field(default=None, sa_type=HASH)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    weight: float = Field(default=1.0, sa_type=SCORE)
    enabled: bool = Field(default=True)


class AgentPerformanceLog(CreatedAtMixin, IdMixin, table=True):
    """One agent call: latency, tokens, and whether the output validated."""

    __tablename__ = "agent_performance_log"
    __table_args__ = (
        enum_check("outcome", CallOutcome),
        sa.Index("ix_agent_performance_log_agent_id_occurred_at", "agent_id", "occurred_at"),
        sa.Index("ix_agent_performance_log_variant_id_occurred_at", "variant_id", "occurred_at"),
    )

    agent_id: int = fk_field("ai_agents.id", ondelete="CASCADE", index=False)
    variant_id: int | None = fk_field(
        "agent_variants.id", ondelete="SET NULL", nullable=True, index=False
    )
    document_id: int | None = fk_field("documents.id", ondelete="SET NULL", nullable=True)
    model_name: str = Field(sa_type=sa.String(200))
    outcome: CallOutcome = Field(sa_type=enum_column(CallOutcome, 32))
    latency_ms: float = Field(sa_type=SCORE)
    prompt_tokens: int | None = Field(default=None)
    completion_tokens: int | None = Field(default=None)
    error: str | None = Field(default=None, sa_type=sa.Text)
    occurred_at: datetime = timestamp_field(nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
