"""The broker worker's handler: intent row → evaluate_order → approval → submit → fills.

The ``orders`` row (status ``intent``, deterministic client_order_id) is committed before
any broker call, then moved to ``submitting``. If the call's outcome is unknown (timeout,
5xx, 429) the row becomes ``unknown`` and the order is looked up by client_order_id before
anything is sent again, so an order accepted by the broker is never placed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker.base import BatchBroker, Broker, BrokerOrder, OrderRequest
from realtime.broker.errors import BrokerUnavailable, NotReconciled, OrderRejected
from realtime.broker.ledger import (
    BookedFill,
    apply_broker_orders,
    record_event,
    update_account,
)
from realtime.lake import FillFact, OrderFact, PositionFact
from realtime.messages import BrokerOrderJob
from realtime.notifications import Notification, Notifier
from realtime.risk.circuit_breaker import BreakerState, CircuitBreaker
from realtime.risk.limits import RiskLimits, current_tier, review_tier
from realtime.risk.orders import evaluate_order
from realtime.risk.portfolio import (
    HeldPosition,
    PortfolioState,
    consecutive_losses,
    load_portfolio,
)
from realtime.risk.reserve import sweep_profit
from realtime.sql import insert_ignore_many, insert_statement, table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import DecisionTrigger, Order, OrderEvent, OrderStatus, OrderType
from stonks.models.portfolio import Position
from stonks.models.risk import EvaluationScope, RiskEvaluation
from stonks.queues import Delivery, Producer

logger = logging.getLogger(__name__)

RESUMABLE = {OrderStatus.INTENT, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN}
FillListener = Callable[[list[BookedFill]], None]


@dataclass
class _RiskView:
    """The account as ``evaluate_order`` sees it during one batch: loaded once, then moved
    by every order the batch approves, so later orders see the exposure of earlier ones."""

    portfolio: PortfolioState
    limits: RiskLimits
    breaker: BreakerState
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    submitting: list[int] = field(default_factory=list)

    def commit(self, ticker: str, side: OrderSide, quantity: Decimal, price: Decimal,
               sector: str | None) -> None:
        p = self.portfolio
        held = p.positions.get(ticker)
        sign = 1 if side is OrderSide.BUY else -1
        qty = (held.quantity if held else Decimal(0)) + sign * quantity
        value = (held.market_value if held else Decimal(0)) + sign * quantity * price
        positions = dict(p.positions)
        positions[ticker] = HeldPosition(ticker, qty, value, held.sector if held else sector)
        self.portfolio = replace(p, positions=positions, cash=p.cash - sign * quantity * price)


class BrokerService:
    """Places the orders of one broker account."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings, broker: Broker,
                 account_id: int, account_name: str,
                 on_fills: FillListener | None = None,
                 notifier: Notifier | None = None) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self.broker = broker
        self.account_id = account_id
        self.breaker = CircuitBreaker(client, account_name)
        self.limits = RiskLimits.from_settings(settings)
        self.lake = Producer(client, redis_keys.QueueName.LAKE_PUBLISH)
        self.on_fills = on_fills
        self.notifier = notifier

    def handle(self, deliveries: Sequence[Delivery[BrokerOrderJob]]) -> None:
        self.place_many([delivery.message for delivery in deliveries])

    # ---- the write-ahead intent ---------------------------------------------------------

    def _intents(self, conn: sa.Connection, jobs: Sequence[BrokerOrderJob]) -> dict[str, Any]:
        """Write the intent rows of ``jobs`` (once per client_order_id); every row by id."""
        o = table_of(Order)
        rows = {job.client_order_id: {
            "client_order_id": job.client_order_id, "broker_account_id": self.account_id,
            "decision_id": job.decision_id, "ticker": job.ticker, "side": job.side.value,
            "order_type": job.order_type.value, "time_in_force": "day",
            "quantity": job.quantity, "notional": job.notional, "limit_price": job.limit_price,
            "source": job.source.value, "status": OrderStatus.INTENT.value,
            "raw": {"origin_at": job.origin_at.isoformat(), "as_of": job.as_of.isoformat(),
                    "sector": job.exits.get("sector"), "exits": job.exits,
                    "reference_price": str(job.reference_price)},
        } for job in jobs}
        new = [int(i) for i in conn.execute(
            insert_statement(conn, o).on_conflict_do_nothing(
                index_elements=["client_order_id"]).returning(o.c.id),
            list(rows.values())).scalars()]
        now = datetime.now(UTC)
        insert_ignore_many(conn, table_of(OrderEvent), [
            {"order_id": order_id, "event_key": "intent", "event_type": "intent",
             "status_after": OrderStatus.INTENT.value, "occurred_at": now, "payload": {}}
            for order_id in new], ["order_id", "event_key"])
        return {row.client_order_id: row for row in conn.execute(
            sa.select(o).where(o.c.client_order_id.in_(list(rows))))}

    def _gate(self, conn: sa.Connection, order: Any, job: BrokerOrderJob,
              risk: _RiskView) -> OrderStatus:
        """Risk and approval for an ``intent`` order; the status it moves to."""
        quantity = Decimal(order.quantity) if order.quantity is not None else Decimal(0)
        price = job.reference_price or Decimal(order.limit_price or 0)
        evaluation = evaluate_order(
            ticker=order.ticker, side=job.side, quantity=quantity, price=price,
            sector=job.exits.get("sector"), portfolio=risk.portfolio, limits=risk.limits,
            breaker=risk.breaker, is_exit=job.source is DecisionTrigger.EXIT)
        risk.evaluations.append({
            "scope": EvaluationScope.ORDER.value, "order_id": order.id,
            "approved": evaluation.approved, "checks": evaluation.checks,
            "reasons": evaluation.reasons, "evaluated_at": datetime.now(UTC)})
        o = table_of(Order)
        if not evaluation.approved:
            reason = "; ".join(evaluation.reasons)
            conn.execute(sa.update(o).where(o.c.id == order.id).values(
                status=OrderStatus.REJECTED.value, reject_reason=f"risk: {reason}"))
            record_event(conn, order.id, "risk_rejected", "rejected", OrderStatus.REJECTED,
                         {"reasons": evaluation.reasons})
            return OrderStatus.REJECTED
        if evaluation.needs_approval and order.approved_by is None:
            conn.execute(sa.update(o).where(o.c.id == order.id).values(
                status=OrderStatus.PENDING_APPROVAL.value, requires_approval=True))
            record_event(conn, order.id, "pending_approval", "pending_approval",
                         OrderStatus.PENDING_APPROVAL)
            return OrderStatus.PENDING_APPROVAL
        risk.submitting.append(int(order.id))  # written by ``_write_gates``
        risk.commit(order.ticker, job.side, quantity, price, job.exits.get("sector"))
        return OrderStatus.SUBMITTING

    def _risk_view(self, conn: sa.Connection) -> _RiskView:
        portfolio = load_portfolio(conn, self.account_id)
        if not portfolio.reconciled:
            raise NotReconciled(f"account {self.account_id} is not reconciled; order waits")
        limits = self.limits.for_tier(portfolio.tier or current_tier(
            conn, self.account_id, self.settings.risk_initial_tier))
        return _RiskView(portfolio, limits, self.breaker.state())

    @staticmethod
    def _write_gates(conn: sa.Connection, risk: _RiskView) -> None:
        """The batch's ``risk_evaluations`` rows and its move to ``submitting``, at once."""
        if risk.evaluations:
            conn.execute(sa.insert(table_of(RiskEvaluation)), risk.evaluations)
        if risk.submitting:
            o = table_of(Order)
            conn.execute(sa.update(o).where(o.c.id.in_(risk.submitting)).values(
                status=OrderStatus.SUBMITTING.value, submitted_at=datetime.now(UTC)))

    # ---- placing -------------------------------------------------------------------------

    def place(self, job: BrokerOrderJob) -> OrderStatus:
        """Drive one order as far as it can go now; returns its status."""
        return self.place_many([job])[0]

    def place_many(self, jobs: Sequence[BrokerOrderJob]) -> list[OrderStatus]:
        """Drive a batch of orders as far as they can go now; their statuses.

        Three steps, so a crash anywhere loses nothing and sends nothing twice: every
        intent row is committed (status ``submitting`` once risk approved it) in one
        transaction before any broker call; then each order is submitted (looked up first
        if a previous attempt may have reached the broker); then every result is booked in
        one transaction, with the account and its snapshot updated once for the batch.
        """
        statuses: list[OrderStatus] = []
        ready: list[tuple[int, int, BrokerOrderJob, bool]] = []  # index, order id, job, sent?
        held: list[OrderFact] = []
        gated: dict[str, OrderStatus] = {}  # a job twice in one batch is gated once
        with self.db.begin() as conn:
            orders = self._intents(conn, jobs)
            risk: _RiskView | None = None
            for index, job in enumerate(jobs):
                order = orders[job.client_order_id]
                status = gated.get(job.client_order_id) or OrderStatus(order.status)
                maybe_sent = True
                if status is OrderStatus.INTENT:
                    risk = risk or self._risk_view(conn)
                    status = gated[job.client_order_id] = self._gate(conn, order, job, risk)
                    maybe_sent = False
                    if status not in RESUMABLE:  # rejected by risk or held for approval
                        held.append(_order_fact(int(order.id), job, status))
                statuses.append(status)
                if status in RESUMABLE:
                    ready.append((index, int(order.id), job, maybe_sent))
            if risk is not None:
                self._write_gates(conn, risk)
        requests = [OrderRequest(client_order_id=job.client_order_id, ticker=job.ticker,
                                 side=job.side, quantity=job.quantity, notional=job.notional,
                                 order_type=job.order_type or OrderType.MARKET,
                                 limit_price=job.limit_price, as_of=job.as_of)
                    for _, _, job, _ in ready]
        if isinstance(self.broker, BatchBroker):
            placed = self._submit_batch([order_id for _, order_id, _, _ in ready], requests)
        else:
            placed = [self._submit(order_id, request, known_sent=maybe_sent)
                      for (_, order_id, _, maybe_sent), request in zip(ready, requests,
                                                                      strict=True)]
        results: list[tuple[int, BrokerOrder, dict[str, Any]]] = []
        for (index, order_id, job, _), result in zip(ready, placed, strict=True):
            results.append((order_id, result, job.exits))
            statuses[index] = result.status
        if held:  # hand-off to the lake DAG, after the commit
            self.lake.publish_many(held)
        if results:
            self.apply_many(results)
        return statuses

    def _submit_batch(self, order_ids: list[int],
                      requests: list[OrderRequest]) -> list[BrokerOrder]:
        """One call for the batch; the broker is idempotent per client_order_id, so an
        unknown outcome only marks the orders and lets the queue retry the same call."""
        if not requests:
            return []
        assert isinstance(self.broker, BatchBroker)
        try:
            return self.broker.submit_many(requests)
        except BrokerUnavailable as exc:
            self._mark_unknown(order_ids, exc)
            logger.warning("order outcome unknown; the retry places the same orders again",
                           extra={"orders": len(order_ids), "error": str(exc)})
            raise

    def _submit(self, order_id: int, request: OrderRequest, *, known_sent: bool) -> BrokerOrder:
        if known_sent:  # a previous attempt may have reached the broker: look before sending
            found = self.broker.get_by_client_order_id(request.client_order_id)
            if found is not None:
                return found
        try:
            return self.broker.submit(request)
        except OrderRejected as exc:
            return BrokerOrder("", request.client_order_id, request.ticker, request.side,
                               OrderStatus.REJECTED, Decimal(0), None, reject_reason=str(exc))
        except BrokerUnavailable as exc:
            self._mark_unknown([order_id], exc)
            logger.warning("order outcome unknown; looking it up",
                           extra={"client_order_id": request.client_order_id, "error": str(exc)})
            found = self.broker.get_by_client_order_id(request.client_order_id)
            if found is None:
                raise  # not at the broker: the queue retries, and the retry looks again first
            return found

    def _mark_unknown(self, order_ids: list[int], error: Exception) -> None:
        """Orders whose submission had no observable outcome: status ``unknown``, looked up
        by client_order_id before anything is sent again."""
        o = table_of(Order)
        with self.db.begin() as conn:
            conn.execute(sa.update(o).where(o.c.id.in_(order_ids)).values(
                status=OrderStatus.UNKNOWN.value))
            insert_ignore_many(conn, table_of(OrderEvent), [
                {"order_id": i, "event_key": "unknown", "event_type": "unknown",
                 "status_after": OrderStatus.UNKNOWN.value, "occurred_at": datetime.now(UTC),
                 "payload": {"error": str(error)}} for i in order_ids],
                ["order_id", "event_key"])

    def apply(self, order_id: int, result: BrokerOrder,
              exits: dict[str, Any] | None = None) -> OrderStatus:
        """Book the broker's view of an order (idempotent per fill)."""
        self.apply_many([(order_id, result, exits)])
        return result.status

    def apply_many(self, results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
                   ) -> None:
        """Book the broker's view of several orders in one transaction (idempotent per fill)."""
        positions: list[PositionFact] = []
        with self.db.begin() as conn:
            booked = apply_broker_orders(conn, results)
            now = datetime.now(UTC)
            insert_ignore_many(conn, table_of(OrderEvent), [
                {"order_id": order_id, "event_key": f"status:{result.status.value}",
                 "event_type": result.status.value, "status_after": result.status.value,
                 "occurred_at": now, "payload": {"broker_order_id": result.broker_order_id}}
                for order_id, result, _ in results], ["order_id", "event_key"])
            if booked:
                update_account(conn, self.account_id, booked)
                positions = self._position_facts(conn, {b.ticker for b in booked})
            tripped = None
            # Only a sell realises P&L, so only a sell can move the breaker's inputs.
            if any(b.side is OrderSide.SELL for b in booked):
                self._after_sells(conn, booked)
                portfolio = load_portfolio(conn, self.account_id)
                before = self.breaker.state().tripped
                state = self.breaker.check(
                    conn, portfolio, self.limits,
                    consecutive_losses=consecutive_losses(conn, self.account_id))
                tripped = state.reason if state.tripped and not before else None
        if tripped is not None and self.notifier is not None:
            self.notifier.notify(Notification("circuit_breaker", "Circuit breaker tripped",
                                              tripped))
        # Hand-off to the lake DAG, after the commit: every order's state, its fills and
        # the positions they moved.
        self.lake.publish_many([*(_broker_order_fact(order_id, result)
                                  for order_id, result, _ in results),
                                *(_fact(b) for b in booked), *positions])
        if booked:
            if self.on_fills is not None:
                self.on_fills(booked)
            if self.notifier is not None:
                for b in booked:
                    self.notifier.notify(Notification(
                        "fill", f"Filled {b.side.value} {b.ticker}",
                        f"{b.fill.quantity} {b.ticker} @ {b.fill.price} (order {b.order_id})"))

    def _position_facts(self, conn: sa.Connection, tickers: set[str]) -> list[PositionFact]:
        p = table_of(Position)
        rows = conn.execute(sa.select(p).where(p.c.broker_account_id == self.account_id,
                                               p.c.ticker.in_(sorted(tickers)))).all()
        return [PositionFact(position_id=r.id, broker_account_id=r.broker_account_id,
                             ticker=r.ticker, status=r.status, quantity=r.quantity,
                             avg_entry_price=r.avg_entry_price, market_value=r.market_value,
                             realized_pl=r.realized_pl, unrealized_pl=r.unrealized_pl,
                             occurred_at=r.updated_at or datetime.now(UTC)) for r in rows]

    def _after_sells(self, conn: sa.Connection, booked: list[BookedFill]) -> None:
        """Sweep realised profit into the reserve and review the account's risk tier."""
        for b in booked:
            sweep_profit(conn, self.account_id, profit=b.realized_pl,
                         fraction=self.settings.risk_reserve_sweep_fraction,
                         key=f"sweep:{b.order_id}:{b.fill.execution_id}", order_id=b.order_id)
        p = table_of(Position)
        closed = conn.execute(sa.select(p.c.realized_pl).where(
            p.c.broker_account_id == self.account_id, p.c.status == "closed")).all()
        wins = sum(1 for r in closed if Decimal(r.realized_pl) > 0)
        tier = current_tier(conn, self.account_id, self.settings.risk_initial_tier)
        review_tier(conn, self.account_id, tier, wins=wins, losses=len(closed) - wins,
                    at=datetime.now(UTC))

    def sync_open_orders(self) -> int:
        """Poll the broker for our open orders and book what changed (the polling path)."""
        o = table_of(Order)
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(o.c.id, o.c.client_order_id, o.c.raw, o.c.status,
                                          o.c.filled_quantity).where(
                o.c.broker_account_id == self.account_id,
                o.c.status.in_([OrderStatus.SUBMITTED.value,
                                OrderStatus.PARTIALLY_FILLED.value,
                                OrderStatus.UNKNOWN.value]))).all()
        changed = []
        for row in rows:
            found = self.broker.get_by_client_order_id(row.client_order_id)
            # An order the broker reports as we have it already is not booked (or published
            # to the lake) again on every poll.
            if found is not None and (found.status.value != row.status or found.filled_quantity
                                      != Decimal(row.filled_quantity or 0)):
                changed.append((int(row.id), found, (row.raw or {}).get("exits")))
        if changed:
            self.apply_many(changed)
        return len(rows)


def _fact(booked: BookedFill) -> FillFact:
    return FillFact(order_id=booked.order_id, ticker=booked.ticker, side=booked.side,
                    quantity=booked.fill.quantity, price=booked.fill.price, fee=booked.fill.fee,
                    execution_id=booked.fill.execution_id, occurred_at=booked.fill.occurred_at)


def _order_fact(order_id: int, job: BrokerOrderJob, status: OrderStatus) -> OrderFact:
    return OrderFact(order_id=order_id, client_order_id=job.client_order_id, ticker=job.ticker,
                     side=job.side, status=status.value, quantity=job.quantity,
                     occurred_at=datetime.now(UTC))


def _broker_order_fact(order_id: int, result: BrokerOrder) -> OrderFact:
    return OrderFact(order_id=order_id, client_order_id=result.client_order_id,
                     ticker=result.ticker, side=result.side, status=result.status.value,
                     filled_quantity=result.filled_quantity,
                     filled_avg_price=result.filled_avg_price,
                     reject_reason=result.reject_reason, occurred_at=datetime.now(UTC))
