"""What the API does, without HTTP: reads, approvals, manual overrides, breaker reset."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker.base import Broker
from realtime.broker.ledger import record_event
from realtime.broker.reconcile import Reconciliation, account_name, ensure_account, reconcile
from realtime.errors import Conflict, InvalidRequest, NotFound
from realtime.messages import BrokerOrderJob
from realtime.risk.circuit_breaker import BreakerState, CircuitBreaker
from realtime.sql import table_of
from realtime.trading.engine import ProposedTrade, TradingEngine
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import DecisionTrigger, Order, OrderStatus, TradingDecision
from stonks.models.portfolio import Position, PositionStatus
from stonks.models.recommendations import Recommendation
from stonks.queues import Producer


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


class ControlService:
    """The operations behind the control API for the configured broker account."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings,
                 broker: Broker) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self.broker = broker
        self.account_name = account_name(settings)
        self.account_id = ensure_account(db, settings, broker)
        self.engine = TradingEngine(db, client, settings, self.account_id, self.account_name)
        self.breaker = CircuitBreaker(client, self.account_name)
        self.orders = Producer(client, redis_keys.QueueName.BROKER_ORDERS)

    def recommendations(self, *, ticker: str | None, limit: int) -> list[dict[str, Any]]:
        t = table_of(Recommendation)
        query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if ticker:
            query = query.where(t.c.ticker == ticker.upper())
        with self.db.connect() as conn:
            return _rows(conn.execute(query))

    def decisions(self, *, limit: int) -> list[dict[str, Any]]:
        t = table_of(TradingDecision)
        with self.db.connect() as conn:
            return _rows(conn.execute(sa.select(t).order_by(t.c.id.desc()).limit(limit)))

    def orders_list(self, *, status: OrderStatus | None, limit: int) -> list[dict[str, Any]]:
        t = table_of(Order)
        query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status.value)
        with self.db.connect() as conn:
            return _rows(conn.execute(query))

    def positions(self, *, include_closed: bool) -> list[dict[str, Any]]:
        t = table_of(Position)
        query = sa.select(t).where(t.c.broker_account_id == self.account_id).order_by(t.c.ticker)
        if not include_closed:
            query = query.where(t.c.status == PositionStatus.OPEN.value)
        with self.db.connect() as conn:
            return _rows(conn.execute(query))

    def _order(self, conn: sa.Connection, order_id: int) -> Any:
        t = table_of(Order)
        row = conn.execute(sa.select(t).where(t.c.id == order_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"order {order_id} does not exist")
        return row

    def approve(self, order_id: int, actor: str) -> dict[str, Any]:
        """Release an order waiting for approval back onto the broker queue."""
        t = table_of(Order)
        with self.db.begin() as conn:
            order = self._order(conn, order_id)
            if order.status != OrderStatus.PENDING_APPROVAL.value:
                raise Conflict(f"order {order_id} is {order.status}, not pending_approval")
            conn.execute(sa.update(t).where(t.c.id == order_id).values(
                status=OrderStatus.SUBMITTING.value, approved_by=actor,
                approved_at=datetime.now(UTC), submitted_at=datetime.now(UTC)))
            record_event(conn, order_id, "approved", "approved", OrderStatus.SUBMITTING,
                         {"actor": actor})
        raw = order.raw or {}
        self.orders.publish(BrokerOrderJob(
            client_order_id=order.client_order_id, decision_id=order.decision_id,
            broker_account_id=order.broker_account_id, ticker=order.ticker,
            side=OrderSide(order.side), quantity=order.quantity, notional=order.notional,
            reference_price=Decimal(raw.get("reference_price") or 0),
            source=DecisionTrigger(order.source), as_of=datetime.fromisoformat(raw["as_of"]),
            origin_at=datetime.now(UTC), approved_by=actor, exits=raw.get("exits") or {}))
        return {"id": order_id, "status": OrderStatus.SUBMITTING.value, "approved_by": actor}

    def reject(self, order_id: int, actor: str, reason: str) -> dict[str, Any]:
        t = table_of(Order)
        with self.db.begin() as conn:
            order = self._order(conn, order_id)
            if order.status != OrderStatus.PENDING_APPROVAL.value:
                raise Conflict(f"order {order_id} is {order.status}, not pending_approval")
            conn.execute(sa.update(t).where(t.c.id == order_id).values(
                status=OrderStatus.REJECTED.value, reject_reason=f"{actor}: {reason}"))
            record_event(conn, order_id, "approval_rejected", "rejected", OrderStatus.REJECTED,
                         {"actor": actor, "reason": reason})
        return {"id": order_id, "status": OrderStatus.REJECTED.value}

    def override_order(self, *, ticker: str, side: OrderSide, quantity: Decimal,
                       actor: str, as_of: datetime | None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        """A manual order through the same gates, risk engine and broker queue.

        The same ``idempotency_key`` twice is the same order (a retried request)."""
        if quantity <= 0:
            raise InvalidRequest("quantity must be positive")
        key = f"manual:{idempotency_key or uuid.uuid4().hex}"
        moment = as_of or datetime.now(UTC)
        snap = self.engine.bars.snapshot(ticker, moment)
        if snap is None and self.settings.broker == "simulated":
            raise InvalidRequest(f"no market data for {ticker} at {moment.isoformat()}")
        job = self.engine.decide(ProposedTrade(
            decision_key=key, trigger=DecisionTrigger.MANUAL, ticker=ticker, side=side,
            moment=moment, origin_at=datetime.now(UTC), quantity=quantity,
            price=None if snap is None else Decimal(str(snap.close)),
            exits={"actor": actor}))
        t = table_of(TradingDecision)
        with self.db.connect() as conn:
            decision = conn.execute(sa.select(t).where(t.c.decision_key == key)).one()
        return {"decision_id": decision.id, "outcome": decision.outcome,
                "blocked_by": decision.blocked_by, "gate_results": decision.gate_results,
                "client_order_id": None if job is None else job.client_order_id}

    def breaker_state(self) -> BreakerState:
        return self.breaker.state()

    def reset_breaker(self, actor: str) -> BreakerState:
        with self.db.begin() as conn:
            self.breaker.reset(conn, self.account_id, actor)
        return self.breaker.state()

    def reconcile(self, *, adopt: bool) -> Reconciliation:
        return reconcile(self.db, self.broker, self.account_id, adopt=adopt)
