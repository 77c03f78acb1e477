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


class OrderFact(QueueMessage):
    """One order's state after a change we booked, for the lake's ``orders`` dataset.

    Published after the commit of every booked broker result and of every risk rejection
    or hold for approval; the lake keeps the newest fact per ``order_id``."""

    SCHEMA = "lake.order"
    VERSION = 1

    order_id: int
    client_order_id: str
    ticker: str
    side: OrderSide
    status: str
    quantity: Decimal | None = None
    filled_quantity: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    reject_reason: str | None = None
    occurred_at: datetime


class PositionFact(QueueMessage):
    """One position after fills moved it, for the lake's ``positions`` dataset."""

    SCHEMA = "lake.position"
    VERSION = 1

    position_id: int
    broker_account_id: int
    ticker: str
    status: str
    quantity: Decimal
    avg_entry_price: Decimal | None = None
    market_value: Decimal | None = None
    realized_pl: Decimal = Decimal(0)
    unrealized_pl: Decimal | None = None
    occurred_at: datetime
