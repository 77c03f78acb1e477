"""Recommendations and the evidence each one rests on."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.enums import Direction, TradingMode
from stonks.models.types import (
    JSON,
    PRICE,
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


class RecommendationAction(StrEnum):
    """What a recommendation advises."""

    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"
    WATCH = "watch"


class RecommendationStatus(StrEnum):
    """Lifecycle of a recommendation."""

    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    INELIGIBLE = "ineligible"
    ACTED = "acted"
    EXPIRED = "expired"


class EvidenceKind(StrEnum):
    """What a piece of evidence points at (``reference_id`` is a row of that table)."""

    DOCUMENT = "document"
    DOCUMENT_IMPACT = "document_impact"
    MACRO_IMPACT = "macro_impact"
    COMPETITIVE_SIGNAL = "competitive_signal"
    TREND_WINDOW = "trend_window"
    SIGNAL_ENGINE_OUTPUT = "signal_engine_output"


class RecommendationBase(SQLModel):
    """The fields of a recommendation that callers set."""

    idempotency_key: str = Field(
        sa_type=sa.String(128),
        max_length=128,
        description="Deterministic key of the job that produced it; redelivery finds it.",
    )
    company_id: int = fk_field("companies.id", ondelete="RESTRICT")
    ticker: str = Field(sa_type=TICKER, max_length=16)
    signal_output_id: int | None = fk_field(
        "signal_engine_outputs.id", ondelete="SET NULL", nullable=True
    )
    action: RecommendationAction = Field(sa_type=enum_column(RecommendationAction, 8))
    direction: Direction = Field(sa_type=enum_column(Direction, 16))
    mode: TradingMode = Field(default=TradingMode.PAPER, sa_type=enum_column(TradingMode, 16))
    status: RecommendationStatus = Field(
        default=RecommendationStatus.ACTIVE, sa_type=enum_column(RecommendationStatus, 16)
    )
    confidence: float = Field(sa_type=SCORE, ge=0, le=1)
    probability: float | None = Field(
        default=None, sa_type=SCORE, ge=0, le=1, description="P(win), for Kelly sizing."
    )
    payoff_ratio: float | None = Field(
        default=None, sa_type=SCORE, description="Average win / average loss, for Kelly sizing."
    )
    ev_r: float | None = Field(default=None, sa_type=SCORE)
    trend_score: float | None = Field(default=None, sa_type=SCORE)
    contradiction: bool = Field(default=False)
    entry_price: Decimal | None = Field(default=None, sa_type=PRICE)
    stop_loss: Decimal | None = Field(default=None, sa_type=PRICE)
    take_profit: Decimal | None = Field(default=None, sa_type=PRICE)
    time_horizon: str | None = Field(default=None, sa_type=sa.String(16))
    thesis: str | None = Field(default=None, sa_type=sa.Text)
    thesis_source: str | None = Field(
        default=None, sa_type=sa.String(32), description="'template' or 'llm'."
    )
    suppression_reason: str | None = Field(default=None, sa_type=sa.Text)
    valid_until: datetime | None = timestamp_field()


class Recommendation(TimestampsMixin, RecommendationBase, IdMixin, table=True):
    """A recommendation for one ticker; the trading engine decides on it once."""

    __tablename__ = "recommendations"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key"),
        enum_check("action", RecommendationAction),
        enum_check("direction", Direction),
        enum_check("mode", TradingMode),
        enum_check("status", RecommendationStatus),
        unit_interval_check("confidence"),
        unit_interval_check("probability"),
        sa.Index("ix_recommendations_ticker_created_at", "ticker", "created_at"),
        sa.Index("ix_recommendations_status_created_at", "status", "created_at"),
        # The trading engine's watermark poll reads new rows in id order; the PK serves it.
    )

    targets: list[str] = Field(
        default_factory=list, sa_type=JSON, description="Target prices as decimal strings."
    )
    eligibility: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class RecommendationPublic(RecommendationBase):
    """A recommendation as the API returns it."""

    id: int
    targets: list[str]
    created_at: datetime
    updated_at: datetime


class RecommendationEvidence(CreatedAtMixin, IdMixin, table=True):
    """One document or signal a recommendation used, with its weight."""

    __tablename__ = "recommendation_evidence"
    __table_args__ = (
        sa.UniqueConstraint("recommendation_id", "kind", "reference_id"),
        enum_check("kind", EvidenceKind),
    )

    recommendation_id: int = fk_field("recommendations.id", ondelete="CASCADE", index=False)
    kind: EvidenceKind = Field(sa_type=enum_column(EvidenceKind, 32))
    reference_id: int = Field(sa_type=sa.BigInteger, description="Row id in the kind's table.")
    document_id: int | None = fk_field("documents.id", ondelete="SET NULL", nullable=True)
    layer: str | None = Field(
        default=None, sa_type=sa.String(16), description="'company', 'macro', 'competitive'."
    )
    weight: float = Field(default=0.0, sa_type=SCORE)
    summary: str | None = Field(default=None, sa_type=sa.Text)
    published_at: datetime | None = timestamp_field()
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
