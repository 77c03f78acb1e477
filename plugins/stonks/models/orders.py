"""Broker accounts, trading decisions, orders and their event log.

The write order is the safety property: a decision row, then the order's ``intent`` row
(with its deterministic ``client_order_id``), and only then the HTTP call to the broker.
A redelivered job finds the existing rows through the unique constraints instead of acting
twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.enums import OrderSide
from stonks.models.types import (
    CASH,
    FRACTION,
    JSON,
    PRICE,
    QUANTITY,
    TICKER,
    CreatedAtMixin,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
)


class BrokerKind(StrEnum):
    """Which adapter an account trades through."""

    ALPACA = "alpaca"
    SIMULATED = "simulated"


class AccountEnvironment(StrEnum):
    """Paper or live money."""

    PAPER = "paper"
    LIVE = "live"


class ReconciliationStatus(StrEnum):
    """Whether our positions and open orders match the broker's; trading needs 'reconciled'."""

    UNRECONCILED = "unreconciled"
    RECONCILED = "reconciled"
    MISMATCH = "mismatch"


class DecisionOutcome(StrEnum):
    """What the trading engine decided."""

    ACT = "act"
    SKIP = "skip"


class DecisionTrigger(StrEnum):
    """What asked for the decision."""

    RECOMMENDATION = "recommendation"
    EXIT = "exit"
    MANUAL = "manual"


class OrderType(StrEnum):
    """Order types the broker adapters support (Alpaca's names)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    """Time in force (Alpaca's names)."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    OPG = "opg"
    CLS = "cls"


class OrderStatus(StrEnum):
    """Lifecycle of an order, from our intent to a terminal broker state.

    ``intent`` is written before any broker call; ``unknown`` marks an outcome we could not
    observe (timeout, 5xx), which is resolved by looking the order up by client_order_id.
    """

    INTENT = "intent"
    PENDING_APPROVAL = "pending_approval"
    SUBMITTING = "submitting"
    UNKNOWN = "unknown"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


#: States in which an order may still change at the broker; reconciliation re-fetches them.
OPEN_ORDER_STATUSES: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.INTENT,
        OrderStatus.PENDING_APPROVAL,
        OrderStatus.SUBMITTING,
        OrderStatus.UNKNOWN,
        OrderStatus.SUBMITTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
    }
)


class BrokerAccount(TimestampsMixin, IdMixin, table=True):
    """An account at a broker with its last known balances and reconciliation state."""

    __tablename__ = "broker_accounts"
    __table_args__ = (
        sa.UniqueConstraint("name"),
        enum_check("broker", BrokerKind),
        enum_check("environment", AccountEnvironment),
        enum_check("reconciliation_status", ReconciliationStatus),
    )

    name: str = Field(sa_type=sa.String(64), description="e.g. 'alpaca-paper', 'simulated'.")
    broker: BrokerKind = Field(sa_type=enum_column(BrokerKind, 16))
    environment: AccountEnvironment = Field(
        default=AccountEnvironment.PAPER, sa_type=enum_column(AccountEnvironment, 8)
    )
    external_account_id: str | None = Field(default=None, sa_type=sa.String(128))
    currency: str = Field(default="USD", sa_type=sa.String(3))
    cash: Decimal = Field(default=Decimal(0), sa_type=CASH)
    buying_power: Decimal = Field(default=Decimal(0), sa_type=CASH)
    equity: Decimal = Field(default=Decimal(0), sa_type=CASH)
    last_equity: Decimal | None = Field(default=None, sa_type=CASH, description="Prior close.")
    status: str | None = Field(default=None, sa_type=sa.String(32), description="Broker's.")
    active: bool = Field(default=True)
    reconciliation_status: ReconciliationStatus = Field(
        default=ReconciliationStatus.UNRECONCILED,
        sa_type=enum_column(ReconciliationStatus, 16),
    )
    reconciled_at: datetime | None = timestamp_field()
    synced_at: datetime | None = timestamp_field()
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class TradingDecisionBase(SQLModel):
    """The fields of a trading decision."""

    decision_key: str = Field(
        sa_type=sa.String(128),
        max_length=128,
        description="Deterministic: 'rec:<id>', 'exit:<position>:<bar time>', 'manual:<uuid>'.",
    )
    recommendation_id: int | None = fk_field(
        "recommendations.id", ondelete="RESTRICT", nullable=True, index=False
    )
    broker_account_id: int = fk_field("broker_accounts.id", ondelete="CASCADE")
    company_id: int | None = fk_field("companies.id", ondelete="SET NULL", nullable=True)
    ticker: str = Field(sa_type=TICKER, max_length=16)
    trigger: DecisionTrigger = Field(sa_type=enum_column(DecisionTrigger, 16))
    side: OrderSide = Field(sa_type=enum_column(OrderSide, 4))
    outcome: DecisionOutcome = Field(sa_type=enum_column(DecisionOutcome, 8))
    blocked_by: str | None = Field(
        default=None, sa_type=sa.String(64), description="First gate that failed."
    )
    reason: str | None = Field(default=None, sa_type=sa.Text)
    quantity: Decimal | None = Field(default=None, sa_type=QUANTITY)
    notional: Decimal | None = Field(default=None, sa_type=CASH)
    reference_price: Decimal | None = Field(default=None, sa_type=PRICE)
    kelly_fraction: Decimal | None = Field(default=None, sa_type=FRACTION)
    risk_tier: str | None = Field(default=None, sa_type=sa.String(32))
    decided_at: datetime = timestamp_field(nullable=False)


class TradingDecision(CreatedAtMixin, TradingDecisionBase, IdMixin, table=True):
    """A decision of the trading engine with every gate's result; one per recommendation."""

    __tablename__ = "trading_decisions"
    __table_args__ = (
        sa.UniqueConstraint("decision_key"),
        sa.UniqueConstraint("recommendation_id"),
        enum_check("trigger", DecisionTrigger),
        enum_check("side", OrderSide),
        enum_check("outcome", DecisionOutcome),
        sa.Index("ix_trading_decisions_ticker_decided_at", "ticker", "decided_at"),
    )

    gate_results: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Gate name → {passed, value, limit}."
    )
    sizing: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OrderBase(SQLModel):
    """The fields of an order that callers set."""

    client_order_id: str = Field(
        sa_type=sa.String(64), max_length=64, description="Deterministic, from the decision."
    )
    broker_account_id: int = fk_field("broker_accounts.id", ondelete="RESTRICT")
    decision_id: int | None = fk_field("trading_decisions.id", ondelete="SET NULL", nullable=True)
    ticker: str = Field(sa_type=TICKER, max_length=16)
    side: OrderSide = Field(sa_type=enum_column(OrderSide, 4))
    order_type: OrderType = Field(default=OrderType.MARKET, sa_type=enum_column(OrderType, 16))
    time_in_force: TimeInForce = Field(default=TimeInForce.DAY, sa_type=enum_column(TimeInForce, 4))
    quantity: Decimal | None = Field(default=None, sa_type=QUANTITY)
    notional: Decimal | None = Field(default=None, sa_type=CASH)
    limit_price: Decimal | None = Field(default=None, sa_type=PRICE)
    stop_price: Decimal | None = Field(default=None, sa_type=PRICE)
    source: DecisionTrigger = Field(
        default=DecisionTrigger.RECOMMENDATION, sa_type=enum_column(DecisionTrigger, 16)
    )


class Order(TimestampsMixin, OrderBase, IdMixin, table=True):
    """An order, written as an intent before the broker hears of it."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("client_order_id"),
        sa.UniqueConstraint("broker_account_id", "broker_order_id"),
        enum_check("side", OrderSide),
        enum_check("order_type", OrderType),
        enum_check("time_in_force", TimeInForce),
        enum_check("status", OrderStatus),
        enum_check("source", DecisionTrigger),
        sa.CheckConstraint(
            "quantity IS NOT NULL OR notional IS NOT NULL", name="quantity_or_notional"
        ),
        sa.CheckConstraint("filled_quantity >= 0", name="filled_quantity_non_negative"),
        sa.Index("ix_orders_status", "status"),
        sa.Index("ix_orders_ticker_created_at", "ticker", "created_at"),
    )

    status: OrderStatus = Field(default=OrderStatus.INTENT, sa_type=enum_column(OrderStatus, 32))
    broker_order_id: str | None = Field(default=None, sa_type=sa.String(128))
    filled_quantity: Decimal = Field(default=Decimal(0), sa_type=QUANTITY)
    filled_avg_price: Decimal | None = Field(default=None, sa_type=PRICE)
    fees: Decimal = Field(default=Decimal(0), sa_type=CASH)
    requires_approval: bool = Field(default=False)
    approved_by: str | None = Field(default=None, sa_type=sa.String(128))
    approved_at: datetime | None = timestamp_field()
    reject_reason: str | None = Field(default=None, sa_type=sa.Text)
    submitted_at: datetime | None = timestamp_field()
    filled_at: datetime | None = timestamp_field()
    canceled_at: datetime | None = timestamp_field()
    raw: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Last broker payload for the order."
    )


class OrderPublic(OrderBase):
    """An order as the API returns it."""

    id: int
    status: OrderStatus
    broker_order_id: str | None
    filled_quantity: Decimal
    filled_avg_price: Decimal | None
    fees: Decimal
    requires_approval: bool
    reject_reason: str | None
    submitted_at: datetime | None
    filled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OrderEvent(CreatedAtMixin, IdMixin, table=True):
    """One thing that happened to an order (status change, fill), unique per broker event.

    ``event_key`` is the broker's execution/event id for broker events, and a deterministic
    key of our own ('intent', 'submit', 'approve', …) for ours, so replaying a trade-update
    stream or a poll never records a fill twice.
    """

    __tablename__ = "order_events"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "event_key"),
        enum_check("status_after", OrderStatus),
        sa.Index("ix_order_events_occurred_at", "occurred_at"),
    )

    order_id: int = fk_field("orders.id", ondelete="CASCADE", index=False)
    event_key: str = Field(sa_type=sa.String(128))
    event_type: str = Field(
        sa_type=sa.String(32), description="'fill', 'partial_fill', 'canceled', 'submitted', …"
    )
    status_after: OrderStatus | None = Field(default=None, sa_type=enum_column(OrderStatus, 32))
    fill_quantity: Decimal | None = Field(default=None, sa_type=QUANTITY)
    fill_price: Decimal | None = Field(default=None, sa_type=PRICE)
    fee: Decimal | None = Field(default=None, sa_type=CASH)
    cumulative_quantity: Decimal | None = Field(default=None, sa_type=QUANTITY)
    occurred_at: datetime = timestamp_field(nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
