"""Aggregated trends per ticker: the current windows, their history, and projections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.enums import Direction
from stonks.models.types import (
    JSON,
    SCORE,
    TICKER,
    CreatedAtMixin,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
    unit_interval_check,
)


class TrendColumns(SQLModel):
    """The state of one trend window (``window_label`` avoids SQL's reserved WINDOW)."""

    company_id: int = fk_field("companies.id", ondelete="CASCADE")
    ticker: str = Field(sa_type=TICKER)
    window_label: str = Field(sa_type=sa.String(16), description="e.g. '1d', '7d', '30d'.")
    score: float = Field(sa_type=SCORE, description="Net decayed direction in [-1, 1].")
    direction: Direction = Field(sa_type=enum_column(Direction, 16))
    confidence: float = Field(sa_type=SCORE)
    signal_count: int = Field(default=0)
    layer_scores: dict[str, float] = Field(
        default_factory=dict, sa_type=JSON, description="'company'/'macro'/'competitive' → score."
    )
    contradiction: bool = Field(default=False, description="Strong signals disagree.")
    contradiction_score: float = Field(default=0.0, sa_type=SCORE)
    last_signal_at: datetime | None = timestamp_field()
    computed_at: datetime = timestamp_field(nullable=False)


def trend_checks() -> tuple[sa.CheckConstraint, ...]:
    """CHECK constraints shared by trend windows and their history."""
    return (
        enum_check("direction", Direction),
        unit_interval_check("score", signed=True),
        unit_interval_check("confidence"),
        unit_interval_check("contradiction_score"),
    )


class TrendWindow(TimestampsMixin, TrendColumns, IdMixin, table=True):
    """The current trend of one ticker over one window; aggregation upserts it."""

    __tablename__ = "trend_windows"
    __table_args__ = (sa.UniqueConstraint("ticker", "window_label"), *trend_checks())


class TrendHistory(CreatedAtMixin, TrendColumns, IdMixin, table=True):
    """An append-only snapshot of a trend window each time it is recomputed."""

    __tablename__ = "trend_history"
    __table_args__ = (
        sa.UniqueConstraint("ticker", "window_label", "computed_at"),
        *trend_checks(),
        sa.Index("ix_trend_history_ticker_computed_at", "ticker", "computed_at"),
    )


class TrendProjection(CreatedAtMixin, IdMixin, table=True):
    """Where a trend window is expected to be after ``horizon``, as computed at a time."""

    __tablename__ = "trend_projections"
    __table_args__ = (
        sa.UniqueConstraint("ticker", "window_label", "horizon", "computed_at"),
        enum_check("projected_direction", Direction),
        unit_interval_check("projected_score", signed=True),
        unit_interval_check("confidence"),
        sa.Index("ix_trend_projections_ticker_computed_at", "ticker", "computed_at"),
    )

    company_id: int = fk_field("companies.id", ondelete="CASCADE")
    ticker: str = Field(sa_type=TICKER)
    window_label: str = Field(sa_type=sa.String(16))
    horizon: str = Field(sa_type=sa.String(16), description="e.g. '1d', '5d'.")
    projected_score: float = Field(sa_type=SCORE)
    projected_direction: Direction = Field(sa_type=enum_column(Direction, 16))
    confidence: float = Field(sa_type=SCORE)
    method: str = Field(sa_type=sa.String(64))
    computed_at: datetime = timestamp_field(nullable=False)
    projected_for: datetime = timestamp_field(nullable=False)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
