"""The trading engine: one decision per recommendation (or exit, or manual order).

Event-driven from the trading queue, with a watermark poll over ``recommendations`` as the
fallback. A decision row with every gate's result is committed before its broker job is
published; a redelivered or re-polled recommendation finds the row (unique decision_key /
recommendation_id) in its read and at most re-publishes the same job, which the broker
adapter handles idempotently through the deterministic client_order_id. Decided
recommendations are marked in Redis (``stonks:dedupe:trading:<id>``) right after their jobs
are handed over; a redelivered entry whose recommendation is marked is dropped without a
read (``handle``).

A batch costs, before its jobs are handed over: the circuit breaker's read (in a worker,
on the consumer's read pipeline: no round trip of its own), one database read and one
database write that commits the decisions together with the acted recommendations'
``acted`` status (``store.py``), the gates in Python, and one Redis pipeline with the jobs
(in a worker, the consumer's next round trip). The held positions' returns (the correlation
gate's input) are kept across batches while the same tickers are held and no new bar is
final.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.market_data import BarStore
from realtime.messages import BrokerOrderJob, RecommendationCommitted
from realtime.risk.circuit_breaker import BreakerState, CircuitBreaker
from realtime.risk.limits import RiskLimits
from realtime.risk.portfolio import PortfolioState
from realtime.sql import table_of
from realtime.trading.gates import GateContext, HeldReturns, run_gates
from realtime.trading.sizing import size_position
from realtime.trading.store import BatchInputs, DecisionStore, RecommendationRow
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide, TradingMode
from stonks.models.orders import DecisionOutcome, DecisionTrigger, TradingDecision
from stonks.models.recommendations import (
    Recommendation,
    RecommendationAction,
    RecommendationStatus,
)
from stonks.queues import Command, Delivery, Outbox

logger = logging.getLogger(__name__)

#: How long a decided recommendation's dedupe marker (``stonks:dedupe:trading:<id>``) lives.
DEDUPE_TTL_S = 7 * 24 * 3600


def client_order_id(decision_key: str) -> str:
    """The broker's idempotency key of a decision's order: same decision, same id."""
    return "so-" + decision_key.replace(":", "-")[:61]


@dataclass(frozen=True)
class ProposedTrade:
    """A trade to pass through the gates (recommendation, exit or manual override)."""

    decision_key: str
    trigger: DecisionTrigger
    ticker: str
    side: OrderSide
    moment: datetime
    origin_at: datetime
    confidence: float = 1.0
    probability: float | None = None
    payoff_ratio: float | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    recommendation_id: int | None = None
    company_id: int | None = None
    sector: str | None = None
    exits: dict[str, Any] | None = None


@dataclass
class _Batch:
    """What every decision of one batch reads: loaded once, not once per decision."""

    portfolio: PortfolioState
    limits: RiskLimits
    breaker: BreakerState
    held: _HeldCache


class _HeldCache:
    """The held positions' returns (the correlation gate's input), kept across batches
    while the same tickers are held and no new bar of theirs has become final."""

    def __init__(self, bars: BarStore) -> None:
        self.bars = bars
        self._entry: tuple[tuple[str, ...], float, float, HeldReturns] | None = None

    def at(self, portfolio: PortfolioState, at: int) -> HeldReturns:
        """The returns before epoch second ``at`` of the positions held in ``portfolio``."""
        tickers = tuple(portfolio.positions)
        entry = self._entry
        if entry is not None and entry[0] == tickers and entry[1] <= at < entry[2]:
            return entry[3]
        start, end = self.bars.unchanged_span(tickers, at)
        held = HeldReturns({t: r for t in tickers if (r := self.bars.returns(t, at)) is not None})
        self._entry = (tickers, start, end, held)
        return held


class TradingEngine:
    """Decides on recommendations for one broker account."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings, account_id: int,
                 account_name: str, *, bars: BarStore | None = None,
                 outbox: Outbox | None = None) -> None:
        self.db = db
        self.client = client
        # The consumer's, in a worker: a batch's broker jobs ride on its next round trip.
        self.outbox = outbox or Outbox()
        self.settings = settings
        self.account_id = account_id
        self.account_name = account_name
        self.bars = bars or BarStore()
        self.limits = RiskLimits.from_settings(settings)
        self.breaker = CircuitBreaker(client, account_name)
        self.store = DecisionStore(db, account_id)
        self._orders_stream = redis_keys.queue(redis_keys.QueueName.BROKER_ORDERS)
        self._event_clock = settings.trading_clock == "event"
        self._held = _HeldCache(self.bars)
        self.last_moment: datetime | None = None  # newest market time seen (exit checks)

    def close(self) -> None:
        """Release the store's database connection."""
        self.store.close()

    # ---- entry points ------------------------------------------------------------------

    def handle(self, deliveries: Sequence[Delivery[RecommendationCommitted]]) -> None:
        """Decide on the batch's recommendations, except redelivered ones marked decided.

        Only a redelivered entry can carry a recommendation decided before (each is
        announced once, when committed; the watermark poll decides on undecided ones
        only), so only redeliveries are looked up in Redis: a first delivery costs no round
        trip for it. A marker lost (or not yet set) costs the database read, which finds
        the decision recorded and hands the same job over again."""
        redelivered = [d.message.recommendation_id for d in deliveries
                       if d.delivery_count > 1]
        marked: set[int] = set()
        if redelivered:
            found = self.client.mget([redis_keys.trading_dedupe(str(rec_id))
                                      for rec_id in redelivered])
            marked = {rec_id for rec_id, value in zip(redelivered, found, strict=True)
                      if value is not None}
        self.decide_recommendations([(d.message.recommendation_id, d.message.as_of,
                                      d.message.origin_at) for d in deliveries
                                     if d.message.recommendation_id not in marked])

    def poll_missed(self, limit: int = 100) -> int:
        """The fallback: decide on actionable recommendations past the watermark."""
        key = redis_keys.trading_watermark(self.account_name)
        watermark = int(self.client.get(key) or 0)
        r, d = table_of(Recommendation), table_of(TradingDecision)
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(r.c.id, r.c.details, r.c.created_at)
                .outerjoin(d, d.c.recommendation_id == r.c.id)
                .where(r.c.id > watermark, d.c.id.is_(None),
                       r.c.status == RecommendationStatus.ACTIVE.value,
                       r.c.action.in_([RecommendationAction.BUY.value,
                                       RecommendationAction.SELL.value]),
                       r.c.mode != TradingMode.ADVISORY.value)
                .order_by(r.c.id).limit(limit)).all()
        for row in rows:
            as_of = datetime.fromisoformat(row.details.get("as_of") or row.created_at.isoformat())
            self.decide_recommendation(int(row.id), as_of, datetime.now(UTC))
        if rows:
            self.client.set(key, max(int(row.id) for row in rows))
        return len(rows)

    def decide_recommendation(self, rec_id: int, as_of: datetime,
                              origin_at: datetime) -> BrokerOrderJob | None:
        return self.decide_recommendations([(rec_id, as_of, origin_at)]).get(rec_id)

    def decide_recommendations(
        self, items: Sequence[tuple[int, datetime, datetime]],
    ) -> dict[int, BrokerOrderJob]:
        """Decide on a batch of committed recommendations; the broker jobs by recommendation.

        Before the hand-off: the breaker's state (read with the batch, or one Redis read),
        one database read (account, positions, recommendations, decisions recorded
        already), the gates in Python, one write that commits the decisions with the acted
        recommendations' ``acted`` status, then the broker jobs: in one Redis pipeline, or,
        inside the consumer's handler call, with the consumer's next round trip (its
        ``Outbox``), followed by the recommendations' dedupe markers (see ``handle``). A
        recommendation decided before (a redelivery without its marker) finds its decision
        in the read and re-publishes its job if it acted: the broker dedupes on the
        client_order_id.
        """
        if not items:
            return {}
        # In a worker, read with the batch (the breaker is the consumer's ``read_along``).
        breaker = self.breaker.batch_state()
        todo = {rec_id: (as_of, origin_at) for rec_id, as_of, origin_at in items}
        inputs = self.store.read(list(todo), [_rec_key(rec_id) for rec_id in todo])
        active = {rec.id for rec in inputs.recommendations
                  if rec.status == RecommendationStatus.ACTIVE.value}
        trades = [self._trade(rec, *todo[rec.id]) for rec in inputs.recommendations
                  if rec.id in active or _rec_key(rec.id) in inputs.recorded]
        jobs: dict[int, BrokerOrderJob] = {}
        if trades:
            for trade, job in zip(trades, self._decide_all(trades, inputs, breaker),
                                  strict=True):
                if job is not None and trade.recommendation_id is not None:
                    jobs[trade.recommendation_id] = job
        # The decisions are committed: hand the jobs over, then mark the recommendations
        # decided (after the jobs, in the same round trip: a marker never outlives a job
        # that was not handed over).
        self.outbox.publish(self.client, [(self._orders_stream, job.to_fields())
                                          for job in jobs.values()])
        self.outbox.send(self.client, [
            Command(("SET", redis_keys.trading_dedupe(str(rec.id)), "1", "EX", DEDUPE_TTL_S))
            for rec in inputs.recommendations])
        # A recommendation still active with an acting decision recorded before this batch
        # (by an engine that marked it after the hand-off and stopped in between).
        self.store.mark_acted([rec_id for rec_id in jobs if rec_id in active
                               and _rec_key(rec_id) in inputs.recorded], datetime.now(UTC))
        return jobs

    def _trade(self, rec: RecommendationRow, as_of: datetime,
               origin_at: datetime) -> ProposedTrade:
        held = rec.action == RecommendationAction.SELL.value
        moment = as_of if self._event_clock else datetime.now(UTC)
        trade = ProposedTrade(
            decision_key=_rec_key(rec.id), trigger=DecisionTrigger.RECOMMENDATION,
            ticker=rec.ticker, side=OrderSide.SELL if held else OrderSide.BUY,
            moment=moment, origin_at=origin_at, confidence=rec.confidence,
            probability=rec.probability, payoff_ratio=rec.payoff_ratio,
            price=rec.entry_price, recommendation_id=rec.id, company_id=rec.company_id,
            sector=rec.sector,
            exits={"stop_loss": None if rec.stop_loss is None else str(rec.stop_loss),
                   "targets": rec.targets,
                   "trailing_atr_multiple": self.settings.signal_trailing_atr_multiple,
                   "trailing_stop": rec.trailing_stop,
                   "sector": rec.sector},
        )
        if self.last_moment is None or moment > self.last_moment:
            self.last_moment = moment
        return trade

    # ---- the decision ------------------------------------------------------------------

    def decide(self, trade: ProposedTrade) -> BrokerOrderJob | None:
        """Gate, size and record one trade; publish its broker job if it acts."""
        breaker = self.breaker.state()
        inputs = self.store.read([], [trade.decision_key])
        job = self._decide_all([trade], inputs, breaker)[0]
        if job is not None:
            self.client.xadd(self._orders_stream, job.to_fields())  # type: ignore[arg-type]
        return job

    def _decide_all(self, trades: Sequence[ProposedTrade], inputs: BatchInputs,
                    breaker: BreakerState) -> list[BrokerOrderJob | None]:
        """Gate, size and record ``trades`` (committed on return); their broker jobs, not
        published. A trade whose decision is recorded already gets that decision's job."""
        portfolio = inputs.portfolio
        tier = portfolio.tier or self.store.initial_tier(self.settings.risk_initial_tier)
        batch = _Batch(portfolio, self.limits.for_tier(tier), breaker, self._held)
        now = datetime.now(UTC)
        decided: dict[str, tuple[dict[str, Any], Decimal | None, Decimal]] = {}
        for trade in trades:
            if trade.decision_key not in inputs.recorded and trade.decision_key not in decided:
                decided[trade.decision_key] = self._decide(trade, batch, now)
        inserted = self.store.write([row for row, _, _ in decided.values()], now)
        recorded = inputs.recorded
        lost = [key for key in decided if key not in inserted]
        if lost:  # recorded by a concurrent decider since the read: its decision stands
            recorded = {**recorded, **self.store.recorded(lost)}
        out: list[BrokerOrderJob | None] = []
        for trade in trades:
            key = trade.decision_key
            decision_id = inserted.get(key)
            if decision_id is not None:
                row, qty, price = decided[key]
                acted = row["outcome"] == DecisionOutcome.ACT.value
            else:
                # Re-publish the original decision's order (the broker dedupes it).
                previous = recorded[key]
                decision_id, acted = previous.id, previous.acted
                qty, price = previous.quantity, previous.reference_price or Decimal(0)
            out.append(self._job(trade, qty, price, decision_id) if acted else None)
        return out

    def _decide(self, trade: ProposedTrade, batch: _Batch,
                now: datetime) -> tuple[dict[str, Any], Decimal | None, Decimal]:
        """The decision row of ``trade``, its quantity and its reference price."""
        portfolio, limits = batch.portfolio, batch.limits
        at = int(trade.moment.timestamp())
        price = trade.price
        if not price:
            close = self.bars.close(trade.ticker, at)
            price = Decimal(str(close)) if close is not None else Decimal(0)
        held = portfolio.positions.get(trade.ticker)
        sizing: dict[str, Any]
        if trade.side is OrderSide.SELL:
            qty = trade.quantity or (held.quantity if held else None)
            notional = (qty or Decimal(0)) * price
            sizing = {"quantity": None if qty is None else str(qty), "reason": "close position"}
            kelly = None
            size_reason = None if qty else "nothing held to sell"
        elif trade.quantity is not None:
            qty, notional, kelly = trade.quantity, trade.quantity * price, None
            sizing, size_reason = {"quantity": str(qty), "reason": "manual quantity"}, None
        else:
            # The reserve pool is not trading capital.
            tradable = max(Decimal(0), portfolio.equity - portfolio.reserve)
            size = size_position(
                probability=trade.probability, payoff_ratio=trade.payoff_ratio,
                equity=tradable, price=price, kelly_multiplier=limits.kelly_fraction,
                max_position_fraction=limits.max_position_fraction,
                min_notional=limits.min_order_notional)
            qty, notional, kelly = size.quantity, size.notional, size.fraction
            sizing = size.as_dict()
            size_reason = None if qty is not None else size.reason
        ctx = GateContext(
            ticker=trade.ticker, side=trade.side, confidence=trade.confidence,
            notional=notional, sector=trade.sector, moment=trade.moment, portfolio=portfolio,
            limits=limits, breaker=batch.breaker, returns=self.bars.returns(trade.ticker, at),
            held_returns=batch.held.at(portfolio, at),
            is_exit=trade.trigger is DecisionTrigger.EXIT,
        )
        gates, blocked = run_gates(ctx)
        if blocked is None and size_reason is not None:
            blocked = "sizing"
        act = blocked is None and qty is not None
        row = {
            "decision_key": trade.decision_key, "recommendation_id": trade.recommendation_id,
            "broker_account_id": self.account_id, "company_id": trade.company_id,
            "ticker": trade.ticker, "trigger": trade.trigger.value, "side": trade.side.value,
            "outcome": (DecisionOutcome.ACT if act else DecisionOutcome.SKIP).value,
            "blocked_by": blocked,
            "reason": size_reason if blocked == "sizing" else (
                gates[blocked].get("note") if blocked else sizing.get("reason")),
            "quantity": qty, "notional": notional.quantize(Decimal("0.01")),
            "reference_price": price, "kelly_fraction": kelly, "risk_tier": limits.tier,
            "decided_at": now, "gate_results": gates, "sizing": sizing,
        }
        return row, qty, price

    def _job(self, trade: ProposedTrade, qty: Decimal | None, price: Decimal,
             decision_id: int) -> BrokerOrderJob:
        # The id derives from the decision (no random id per job): the job of one decision
        # always carries the same id, as a redelivered entry does.
        return BrokerOrderJob(
            message_id=f"decision:{decision_id}:order",
            client_order_id=client_order_id(trade.decision_key), decision_id=decision_id,
            broker_account_id=self.account_id, ticker=trade.ticker, side=trade.side,
            quantity=qty, reference_price=price, source=trade.trigger, as_of=trade.moment,
            origin_at=trade.origin_at, exits=trade.exits or {})


def _rec_key(rec_id: int) -> str:
    """The decision key of a recommendation's decision."""
    return f"rec:{rec_id}"
