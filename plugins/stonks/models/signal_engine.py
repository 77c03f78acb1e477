"""The dual-pipeline signal engine's verdicts, one row per ticker per evaluation tick."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from stonks.models.types import (
    JSON,
    PRICE,
    SCORE,
    TICKER,
    CreatedAtMixin,
    IdMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
    unit_interval_check,
)


class Verdict(StrEnum):
    """What a pipeline says about a ticker."""

    BUY = "BUY"
    WATCH = "WATCH"
    SKIP = "SKIP"


class MarketRegime(StrEnum):
    """The regime prior of the probabilistic pipeline."""

    BULL = "bull"
    BEAR = "bear"
    SIDEWAYS = "sideways"


class SignalEngineOutput(CreatedAtMixin, IdMixin, table=True):
    """Both pipelines' verdicts for one ticker at one tick (the SignalOutput contract).

    A pipeline that raised leaves its verdict NULL and its error recorded, so one failing
    pipeline never hides the other's result.
    """

    __tablename__ = "signal_engine_outputs"
    __table_args__ = (
        sa.UniqueConstraint("ticker", "evaluated_at"),
        enum_check("heuristic_verdict", Verdict),
        enum_check("probabilistic_verdict", Verdict),
        enum_check("regime", MarketRegime),
        unit_interval_check("heuristic_confidence"),
        unit_interval_check("probability"),
        sa.Index("ix_signal_engine_outputs_evaluated_at", "evaluated_at"),
    )

    company_id: int | None = fk_field("companies.id", ondelete="SET NULL", nullable=True)
    ticker: str = Field(sa_type=TICKER)
    evaluated_at: datetime = timestamp_field(nullable=False)
    tick_id: str | None = Field(default=None, sa_type=sa.String(64))

    heuristic_verdict: Verdict | None = Field(default=None, sa_type=enum_column(Verdict, 8))
    heuristic_score: float | None = Field(default=None, sa_type=SCORE)
    heuristic_confidence: float | None = Field(default=None, sa_type=SCORE)
    heuristic_error: str | None = Field(default=None, sa_type=sa.Text)

    probabilistic_verdict: Verdict | None = Field(default=None, sa_type=enum_column(Verdict, 8))
    probability: float | None = Field(default=None, sa_type=SCORE)
    log_odds: float | None = Field(default=None, sa_type=SCORE)
    entropy: float | None = Field(default=None, sa_type=SCORE)
    ev_r: float | None = Field(default=None, sa_type=SCORE, description="EV in R multiples.")
    regime: MarketRegime | None = Field(default=None, sa_type=enum_column(MarketRegime, 16))
    probabilistic_error: str | None = Field(default=None, sa_type=sa.Text)

    pipelines_agree: bool | None = Field(default=None)
    entry_price: Decimal | None = Field(default=None, sa_type=PRICE)
    stop_loss: Decimal | None = Field(default=None, sa_type=PRICE)
    targets: list[str] = Field(
        default_factory=list, sa_type=JSON, description="Target prices as decimal strings."
    )
    trailing_atr_multiple: float | None = Field(default=None, sa_type=SCORE)
    failed_filters: list[str] = Field(default_factory=list, sa_type=JSON)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
