"""The lake facts the broker publishes after its commits: orders, fills and positions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from realtime.broker.base import BrokerOrder
from realtime.broker.ledger import BookedFill
from realtime.lake import FillFact, OrderFact, PositionFact
from realtime.messages import BrokerOrderJob
from stonks.models.orders import OrderStatus


def position_fact(r: dict[str, Any]) -> PositionFact:
    """A position as a booking wrote it (its row, column → value)."""
    return PositionFact(position_id=r["id"], broker_account_id=r["broker_account_id"],
                        ticker=r["ticker"], status=r["status"], quantity=r["quantity"],
                        avg_entry_price=r["avg_entry_price"], market_value=r["market_value"],
                        realized_pl=r["realized_pl"], unrealized_pl=r["unrealized_pl"],
                        occurred_at=r["updated_at"] or datetime.now(UTC))


def fill_fact(booked: BookedFill) -> FillFact:
    """A fill new to our books."""
    return FillFact(order_id=booked.order_id, ticker=booked.ticker, side=booked.side,
                    quantity=booked.fill.quantity, price=booked.fill.price, fee=booked.fill.fee,
                    execution_id=booked.fill.execution_id, occurred_at=booked.fill.occurred_at)


def order_fact(order_id: int, job: BrokerOrderJob, status: OrderStatus) -> OrderFact:
    """An order risk rejected or held for approval (never sent)."""
    return OrderFact(order_id=order_id, client_order_id=job.client_order_id, ticker=job.ticker,
                     side=job.side, status=status.value, quantity=job.quantity,
                     occurred_at=datetime.now(UTC))


def broker_order_fact(order_id: int, result: BrokerOrder) -> OrderFact:
    """An order as the broker reported it."""
    return OrderFact(order_id=order_id, client_order_id=result.client_order_id,
                     ticker=result.ticker, side=result.side, status=result.status.value,
                     filled_quantity=result.filled_quantity,
                     filled_avg_price=result.filled_avg_price,
                     reject_reason=result.reject_reason, occurred_at=datetime.now(UTC))
