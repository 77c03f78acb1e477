"""Facts handed to the lake DAG on ``stonks:queue:lake_publish``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from stonks.models.enums import OrderSide
from stonks.queues import QueueMessage


class FillFact(QueueMessage):
    """One fill at the broker, for the lake's ``fills`` dataset."""

    SCHEMA = "lake.fill"
    VERSION = 1

    order_id: int
    ticker: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal
    execution_id: str
    occurred_at: datetime


class RecommendationFact(QueueMessage):
    """One stored recommendation, for the lake's ``recommendations`` dataset."""

    SCHEMA = "lake.recommendation"
    VERSION = 1

    recommendation_id: int
    ticker: str
    action: str
    status: str
    confidence: float
    probability: float | None = None
    as_of: datetime
