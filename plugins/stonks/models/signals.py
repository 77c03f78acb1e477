"""Columns shared by the three signal layers (company, macro, competitive).

Aggregation reads every layer the same way — ticker, direction, magnitude, confidence and
the time the information became public — so the layers share these columns and checks.
``published_at`` is the information's own time: replays filter on it so no signal can use
what was published after it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.enums import Direction, Horizon
from stonks.models.types import (
    HASH,
    SCORE,
    TICKER,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
    unit_interval_check,
)


class SignalColumns(SQLModel):
    """Ticker, direction, magnitude, confidence, horizon and event time of one signal."""

    company_id: int = fk_field("companies.id", ondelete="CASCADE")
    ticker: str = Field(sa_type=TICKER)
    direction: Direction = Field(sa_type=enum_column(Direction, 16))
    magnitude: float = Field(sa_type=SCORE, description="Strength in [0, 1].")
    confidence: float = Field(sa_type=SCORE, description="Confidence in [0, 1].")
    horizon: Horizon = Field(default=Horizon.SHORT, sa_type=enum_column(Horizon, 16))
    published_at: datetime = timestamp_field(nullable=False)


class ProvenanceColumns(SQLModel):
    """Which agent, variant, model and prompt produced a row, so a replay is deterministic."""

    agent_variant_id: int | None = fk_field("agent_variants.id", ondelete="SET NULL", nullable=True)
    model_name: str = Field(sa_type=sa.String(200), description="Model, or 'lexicon-v1'.")
    prompt_hash: str | None = Field(default=None, sa_type=HASH)


def signal_checks() -> tuple[sa.CheckConstraint, ...]:
    """The CHECK constraints every table with ``SignalColumns`` carries."""
    return (
        enum_check("direction", Direction),
        enum_check("horizon", Horizon),
        unit_interval_check("magnitude"),
        unit_interval_check("confidence"),
    )


def ticker_time_index(table: str) -> sa.Index:
    """The index aggregation reads through: one ticker's signals in time order."""
    return sa.Index(f"ix_{table}_ticker_published_at", "ticker", "published_at")
