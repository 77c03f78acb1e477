"""Risk limits and the risk engine's records: evaluations, circuit breakers, tiers, reserve."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from stonks.models.types import (
    CASH,
    FRACTION,
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


class EvaluationScope(StrEnum):
    """What the risk engine evaluated."""

    RECOMMENDATION = "recommendation"
    ORDER = "order"


class BreakerKind(StrEnum):
    """Which circuit breaker."""

    DAILY_LOSS = "daily_loss"
    CONSECUTIVE_LOSSES = "consecutive_losses"
    DRAWDOWN = "drawdown"
    MANUAL = "manual"


class BreakerEventKind(StrEnum):
    """A breaker trips, or is reset."""

    TRIPPED = "tripped"
    RESET = "reset"


class LedgerEntryKind(StrEnum):
    """Movements of the reserve pool."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    ALLOCATION = "allocation"
    RELEASE = "release"
    PROFIT_SWEEP = "profit_sweep"
    ADJUSTMENT = "adjustment"


class TierChange(StrEnum):
    """How a risk tier came to be."""

    INITIAL = "initial"
    PROMOTED = "promoted"
    DEMOTED = "demoted"
    MANUAL = "manual"


class RiskConfig(TimestampsMixin, IdMixin, table=True):
    """A named set of risk limits; fractions are of account equity."""

    __tablename__ = "risk_configs"
    __table_args__ = (sa.UniqueConstraint("name"),)

    name: str = Field(sa_type=sa.String(64))
    active: bool = Field(default=False)
    max_position_fraction: Decimal = Field(default=Decimal("0.05"), sa_type=FRACTION)
    max_sector_fraction: Decimal = Field(default=Decimal("0.25"), sa_type=FRACTION)
    max_positions: int = Field(default=20)
    daily_loss_limit_fraction: Decimal = Field(default=Decimal("0.02"), sa_type=FRACTION)
    max_drawdown_fraction: Decimal = Field(default=Decimal("0.10"), sa_type=FRACTION)
    max_consecutive_losses: int = Field(default=5)
    kelly_multiplier: Decimal = Field(
        default=Decimal("0.25"), sa_type=FRACTION, description="Fractional Kelly."
    )
    min_confidence: float = Field(default=0.6, sa_type=SCORE)
    max_correlation: float = Field(default=0.8, sa_type=SCORE)
    earnings_blackout_days: int = Field(default=2)
    no_entry_after_open_minutes: int = Field(default=15)
    no_entry_before_close_minutes: int = Field(default=15)
    approval_threshold_notional: Decimal | None = Field(
        default=None, sa_type=CASH, description="Orders above this wait for approval."
    )
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class RiskEvaluation(CreatedAtMixin, IdMixin, table=True):
    """One run of the risk engine over a recommendation or an order, with each check."""

    __tablename__ = "risk_evaluations"
    __table_args__ = (
        enum_check("scope", EvaluationScope),
        sa.CheckConstraint(
            "recommendation_id IS NOT NULL OR order_id IS NOT NULL", name="has_subject"
        ),
        sa.Index("ix_risk_evaluations_evaluated_at", "evaluated_at"),
    )

    scope: EvaluationScope = Field(sa_type=enum_column(EvaluationScope, 16))
    recommendation_id: int | None = fk_field(
        "recommendations.id", ondelete="CASCADE", nullable=True
    )
    order_id: int | None = fk_field("orders.id", ondelete="CASCADE", nullable=True)
    risk_config_id: int | None = fk_field("risk_configs.id", ondelete="SET NULL", nullable=True)
    approved: bool
    risk_score: float | None = Field(default=None, sa_type=SCORE)
    checks: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Check name → {passed, value, limit}."
    )
    reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    evaluated_at: datetime = timestamp_field(nullable=False)


class CircuitBreakerEvent(CreatedAtMixin, IdMixin, table=True):
    """A circuit breaker tripping or being reset (the live state is in Redis)."""

    __tablename__ = "circuit_breaker_events"
    __table_args__ = (
        enum_check("breaker", BreakerKind),
        enum_check("event", BreakerEventKind),
        sa.Index("ix_circuit_breaker_events_breaker_occurred_at", "breaker", "occurred_at"),
    )

    broker_account_id: int | None = fk_field(
        "broker_accounts.id", ondelete="CASCADE", nullable=True
    )
    breaker: BreakerKind = Field(sa_type=enum_column(BreakerKind, 32))
    event: BreakerEventKind = Field(sa_type=enum_column(BreakerEventKind, 16))
    observed_value: Decimal | None = Field(default=None, sa_type=FRACTION)
    threshold: Decimal | None = Field(default=None, sa_type=FRACTION)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    actor: str | None = Field(default=None, sa_type=sa.String(128), description="Who reset it.")
    occurred_at: datetime = timestamp_field(nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ReservePoolLedgerEntry(CreatedAtMixin, IdMixin, table=True):
    """An append-only movement of the reserve pool; ``amount`` is signed."""

    __tablename__ = "reserve_pool_ledger"
    __table_args__ = (
        sa.UniqueConstraint("idempotency_key"),
        enum_check("kind", LedgerEntryKind),
        sa.Index(
            "ix_reserve_pool_ledger_broker_account_id_occurred_at",
            "broker_account_id",
            "occurred_at",
        ),
    )

    idempotency_key: str = Field(sa_type=sa.String(128))
    broker_account_id: int = fk_field("broker_accounts.id", ondelete="CASCADE", index=False)
    kind: LedgerEntryKind = Field(sa_type=enum_column(LedgerEntryKind, 16))
    amount: Decimal = Field(sa_type=CASH)
    balance_after: Decimal = Field(sa_type=CASH)
    decision_id: int | None = fk_field("trading_decisions.id", ondelete="SET NULL", nullable=True)
    order_id: int | None = fk_field("orders.id", ondelete="SET NULL", nullable=True)
    description: str | None = Field(default=None, sa_type=sa.Text)
    occurred_at: datetime = timestamp_field(nullable=False)


class RiskTierHistory(CreatedAtMixin, IdMixin, table=True):
    """An account entering a risk tier; the latest row per account is the current tier."""

    __tablename__ = "risk_tier_history"
    __table_args__ = (
        sa.UniqueConstraint("broker_account_id", "effective_from"),
        enum_check("change", TierChange),
    )

    broker_account_id: int = fk_field("broker_accounts.id", ondelete="CASCADE", index=False)
    tier: str = Field(sa_type=sa.String(32))
    previous_tier: str | None = Field(default=None, sa_type=sa.String(32))
    change: TierChange = Field(sa_type=enum_column(TierChange, 16))
    reason: str | None = Field(default=None, sa_type=sa.Text)
    limits: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="The tier's caps at the time."
    )
    metrics: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Performance that caused the change."
    )
    effective_from: datetime = timestamp_field(nullable=False)
