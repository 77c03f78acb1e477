"""The broker worker's handler: intent row → evaluate_order → approval → submit → fills.

The ``orders`` row (status ``intent``, deterministic client_order_id) is committed before
any broker call, then moved to ``submitting``. If the call's outcome is unknown (timeout,
5xx, 429) the row becomes ``unknown`` and the order is looked up by client_order_id before
anything is sent again, so an order accepted by the broker is never placed twice. This
module holds ``BrokerService`` (submitting, booking, polling); gating is
``realtime.broker.gate``, reading and writing the intent rows ``realtime.broker.intents``,
the lake facts ``realtime.broker.facts``. On PostgreSQL through psycopg2 the hot path's
statements run on a connection of the service's own (``KeptConnection``), one round trip
each: the orders already written with the account, the intents, the booking's read under
its locks, and its writes with the commit. In a worker the circuit breaker's state is
read on the consumer's read pipeline with the batch (``CircuitBreaker.batch_state``), not
in a Redis round trip of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker.base import BatchBroker, Broker, BrokerOrder, OrderRequest
from realtime.broker.errors import BrokerUnavailable, NotReconciled, OrderRejected
from realtime.broker.facts import broker_order_fact, fill_fact, order_fact, position_fact
from realtime.broker.gate import RiskView, gate
from realtime.broker.intents import Gated, Ref, read_batch_pg, read_refs, write_intents
from realtime.broker.ledger import BookedFill, Booking, book_broker_orders, update_account
from realtime.broker.ledger_pg import book_and_account_pg
from realtime.kept_connection import GENERIC_PLANS, KeptConnection
from realtime.lake import OrderFact
from realtime.messages import BrokerOrderJob
from realtime.notifications import Notification, Notifier
from realtime.risk.circuit_breaker import CircuitBreaker
from realtime.risk.limits import RiskLimits, current_tier, review_tier
from realtime.risk.portfolio import PortfolioState, consecutive_losses, load_portfolio
from realtime.risk.reserve import sweep_profit
from realtime.sql import insert_ignore_many, table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import Order, OrderEvent, OrderStatus, OrderType
from stonks.models.portfolio import Position
from stonks.queues import Delivery, Outbox, QueueMessage

logger = logging.getLogger(__name__)

RESUMABLE = {OrderStatus.INTENT, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN}
FillListener = Callable[[list[BookedFill]], None]
#: What the write-ahead step knows of an order: its id, its status and whether an earlier
#: attempt may have sent it to the broker.
_Known = tuple[int, OrderStatus, bool]


class BrokerService:
    """Places the orders of one broker account."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings, broker: Broker,
                 account_id: int, account_name: str,
                 on_fills: FillListener | None = None,
                 notifier: Notifier | None = None, outbox: Outbox | None = None) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self.broker = broker
        self.account_id = account_id
        self.breaker = CircuitBreaker(client, account_name)
        self.limits = RiskLimits.from_settings(settings)
        self._lake_stream = redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH)
        # The consumer's, in a worker: the lake facts ride on its next round trip.
        self.outbox = outbox or Outbox()
        self.on_fills = on_fills
        self.notifier = notifier
        # PostgreSQL through psycopg2: the hot path's statements run on a connection of the
        # service's own (autocommit, prepared, one round trip each).
        self._kept = (KeptConnection(db, settings=GENERIC_PLANS) if KeptConnection.supports(db)
                      else None)

    def close(self) -> None:
        """Close the service's own connection (a later use opens a new one)."""
        if self._kept is not None:
            self._kept.close()

    def handle(self, deliveries: Sequence[Delivery[BrokerOrderJob]]) -> None:
        self.place_many([delivery.message for delivery in deliveries])

    # ---- the write-ahead intent ----------------------------------------------------------

    def _risk_view(self, conn: sa.Connection, portfolio: PortfolioState | None) -> RiskView:
        """The risk view from ``portfolio`` (read with the orders), else read here."""
        if portfolio is None:
            portfolio = load_portfolio(conn, self.account_id)
        if not portfolio.reconciled:
            raise NotReconciled(f"account {self.account_id} is not reconciled; order waits")
        limits = self.limits.for_tier(portfolio.tier or current_tier(
            conn, self.account_id, self.settings.risk_initial_tier))
        # In a worker, read with the batch (the breaker is the consumer's ``read_along``).
        return RiskView(portfolio, limits, self.breaker.batch_state())

    def _write_ahead(self, first: dict[str, BrokerOrderJob]) -> dict[str, _Known]:
        """Read what exists of the batch's orders, gate the new ones and commit their
        intents; every order's id, status and whether it may have been sent before."""
        if self._kept is None:
            with self.db.connect() as conn:
                return self._write_ahead_on(conn, first)
        # A connection that broke: once more on a fresh one. Safe to repeat: an intent
        # committed already is read back (and looked up before sending).
        return self._kept.call(lambda conn: self._write_ahead_on(conn, first), retry=True)

    def _write_ahead_on(self, conn: sa.Connection,
                        first: dict[str, BrokerOrderJob]) -> dict[str, _Known]:
        """``_write_ahead`` on ``conn`` (the kept connection, or one of the pool)."""
        fast = self._kept is not None
        cids = list(first)
        portfolio: PortfolioState | None = None
        if fast:
            refs, portfolio = read_batch_pg(conn, self.account_id, cids)
        else:
            refs = read_refs(conn, cids)
        gated: dict[str, Gated] = {}
        new: list[tuple[BrokerOrderJob, Gated]] = []
        again: list[tuple[int, Gated]] = []
        risk: RiskView | None = None
        for cid, job in first.items():
            ref = refs.get(cid)
            if ref is not None and ref.status is not OrderStatus.INTENT:
                continue
            risk = risk or self._risk_view(conn, portfolio)
            gated[cid] = gate(ref or Ref(0, OrderStatus.INTENT, job.quantity,
                                         job.limit_price, None), job, risk)
            if ref is None:
                new.append((job, gated[cid]))
            else:
                again.append((ref.id, gated[cid]))
        inserted = write_intents(self.db, conn, self.account_id, new, again, fast_pg=fast)
        if len(inserted) < len(new):  # another worker wrote some of them meanwhile
            lost = [job.client_order_id for job, _ in new
                    if job.client_order_id not in inserted]
            refs.update(read_batch_pg(conn, self.account_id, lost)[0] if fast
                        else read_refs(conn, lost))
        regated = {order_id for order_id, _ in again}
        known: dict[str, _Known] = {}
        for cid in first:
            if cid in inserted:
                known[cid] = (inserted[cid], gated[cid].status, False)
            elif refs[cid].id in regated:
                known[cid] = (refs[cid].id, gated[cid].status, False)
            else:
                known[cid] = (refs[cid].id, refs[cid].status, True)
        return known

    # ---- placing -------------------------------------------------------------------------

    def place(self, job: BrokerOrderJob) -> OrderStatus:
        """Drive one order as far as it can go now; returns its status."""
        return self.place_many([job])[0]

    def place_many(self, jobs: Sequence[BrokerOrderJob]) -> list[OrderStatus]:
        """Drive a batch of orders as far as they can go now; their statuses.

        Three steps, so a crash anywhere loses nothing and sends nothing twice: the orders
        already written and the account are read, risk gates the new ones, and their intent
        rows are committed (status ``submitting`` once risk approved them) before any broker
        call; then the orders are submitted (looked up first if a previous attempt may have
        reached the broker); then every result is booked in one transaction, with the
        account and its snapshot updated once for the batch.
        """
        if not jobs:
            return []
        first: dict[str, BrokerOrderJob] = {}
        for job in jobs:
            first.setdefault(job.client_order_id, job)
        known = self._write_ahead(first)
        statuses: list[OrderStatus] = []
        ready: list[tuple[int, int, BrokerOrderJob, bool]] = []  # index, order id, job, sent?
        held: list[OrderFact] = []
        queued: set[str] = set()
        for index, job in enumerate(jobs):
            order_id, status, maybe_sent = known[job.client_order_id]
            statuses.append(status)
            if status in RESUMABLE:
                ready.append((index, order_id, job, maybe_sent))
            elif not maybe_sent and job.client_order_id not in queued:
                held.append(order_fact(order_id, job, status))  # rejected or held
                queued.add(job.client_order_id)
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
        if results:  # the orders held or rejected go to the lake with the booking's facts
            self._book(results, held)
        elif held:  # hand-off to the lake DAG, after the commit
            self._to_lake(held)
        return statuses

    def _to_lake(self, facts: Sequence[QueueMessage]) -> None:
        """Hand ``facts`` to the lake DAG (committed by now)."""
        self.outbox.publish(self.client, [(self._lake_stream, f.to_fields()) for f in facts])

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
        self._book(results, [])

    def _book(self, results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
              facts: list[OrderFact]) -> None:
        """``apply_many``, publishing ``facts`` to the lake with the booking's own."""
        booking = None
        # Only a sell realises P&L (the profit sweep, the tier review and the breaker's
        # inputs): batches with one are booked on the transactional path.
        if self._kept is not None and not any(r.side is OrderSide.SELL and r.fills
                                              for _, r, _ in results):
            with self._kept.connection() as conn:
                booking = book_and_account_pg(conn, self.account_id, results)
        tripped = None
        if booking is None:
            booking, tripped = self._book_tx(results)
        booked = booking.booked
        if tripped is not None and self.notifier is not None:
            self.notifier.notify(Notification("circuit_breaker", "Circuit breaker tripped",
                                              tripped))
        # Hand-off to the lake DAG, after the commit: every order's state, its fills and
        # the positions they moved.
        self._to_lake([*facts, *(broker_order_fact(order_id, result)
                                 for order_id, result, _ in results),
                       *(fill_fact(b) for b in booked),
                       *(position_fact(row) for row in booking.positions)])
        if booked:
            if self.on_fills is not None:
                self.on_fills(booked)
            if self.notifier is not None:
                for b in booked:
                    self.notifier.notify(Notification(
                        "fill", f"Filled {b.side.value} {b.ticker}",
                        f"{b.fill.quantity} {b.ticker} @ {b.fill.price} (order {b.order_id})"))

    def _book_tx(self, results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
                 ) -> tuple[Booking, str | None]:
        """The booking in one transaction through SQLAlchemy (any dialect, sells too); the
        circuit breaker's reason if this booking tripped it."""
        with self.db.begin() as conn:
            booking = book_broker_orders(conn, results, status_events=True)
            booked = booking.booked
            if booked:
                update_account(conn, self.account_id, booked)
            # Only a sell realises P&L, so only a sell can move the breaker's inputs.
            if any(b.side is OrderSide.SELL for b in booked):
                self._after_sells(conn, booked)
                portfolio = load_portfolio(conn, self.account_id)
                before = self.breaker.state().tripped
                state = self.breaker.check(
                    conn, portfolio, self.limits,
                    consecutive_losses=consecutive_losses(conn, self.account_id))
                if state.tripped and not before:
                    return booking, state.reason
        return booking, None

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
