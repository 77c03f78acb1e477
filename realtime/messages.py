"""Versioned messages of the real-time queues (recommendation, trading, broker_orders,
thesis).

Every message carries ``origin_at``: when the aggregation job that started the chain was
enqueued, so end-to-end latency can be measured at the far end.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from stonks.models.enums import OrderSide
from stonks.models.orders import DecisionTrigger, OrderType
from stonks.queues import QueueMessage

#: The stream the trading engine consumes: committed, actionable recommendations.
TRADING_QUEUE = "trading"
#: The stream the thesis rewriter consumes (only when an LLM is configured).
THESIS_QUEUE = "thesis"


class EvidenceRef(BaseModel):
    """A signal a recommendation rests on, pointing at its row."""

    model_config = ConfigDict(frozen=True)

    kind: str
    reference_id: int
    layer: str | None = None
    document_id: int | None = None
    weight: float = 0.0
    published_at: datetime | None = None


class RecommendationJob(QueueMessage):
    """Build (or find) the recommendation of one ticker from an aggregation result."""

    SCHEMA = "recommendation.job"
    VERSION = 1

    ticker: str = Field(min_length=1, max_length=16)
    company_id: int
    as_of: AwareDatetime
    origin_at: AwareDatetime
    idempotency_key: str = Field(max_length=128)
    draft: dict[str, Any] = Field(description="Recommendation fields from the signal engine.")
    trend: dict[str, float] = Field(default_factory=dict, description="window → score.")
    trend_confidence: float = 0.0
    contradiction: bool = False
    last_bar_at: AwareDatetime | None = None
    last_price: float | None = None
    avg_volume: float | None = None
    sector: str | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)


class RecommendationCommitted(QueueMessage):
    """A new actionable recommendation is committed; the trading engine decides on it."""

    SCHEMA = "trading.recommendation"
    VERSION = 1

    recommendation_id: int
    as_of: AwareDatetime
    origin_at: AwareDatetime


class ThesisJob(QueueMessage):
    """Rewrite the template thesis of one committed, trading-eligible recommendation."""

    SCHEMA = "recommendation.thesis"
    VERSION = 1

    recommendation_id: int
    as_of: AwareDatetime
    origin_at: AwareDatetime


class BrokerOrderJob(QueueMessage):
    """Place the order of one decision (or re-drive an approved one)."""

    SCHEMA = "broker.order"
    VERSION = 1

    client_order_id: str = Field(min_length=1, max_length=64)
    decision_id: int | None = None
    broker_account_id: int
    ticker: str = Field(min_length=1, max_length=16)
    side: OrderSide
    quantity: Decimal | None = None
    notional: Decimal | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reference_price: Decimal | None = None
    source: DecisionTrigger = DecisionTrigger.RECOMMENDATION
    as_of: AwareDatetime
    origin_at: AwareDatetime
    approved_by: str | None = None
    exits: dict[str, Any] = Field(default_factory=dict, description="stop, targets, trailing.")
