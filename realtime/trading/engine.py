"""The trading engine: one decision per recommendation (or exit, or manual order).

Event-driven from the trading queue, with a watermark poll over ``recommendations`` as the
fallback. A decision row with every gate's result is committed before its broker job is
published; a redelivered or re-polled recommendation finds the row (unique decision_key /
recommendation_id) and at most re-publishes the same job, which the broker adapter handles
idempotently through the deterministic client_order_id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.market_data import BarStore
from realtime.messages import BrokerOrderJob, RecommendationCommitted
from realtime.risk.circuit_breaker import BreakerState, CircuitBreaker
from realtime.risk.limits import RiskLimits, current_tier
from realtime.risk.portfolio import PortfolioState, load_portfolio
from realtime.sql import insert_statement, table_of
from realtime.trading.gates import GateContext, run_gates
from realtime.trading.sizing import size_position
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide, TradingMode
from stonks.models.orders import DecisionOutcome, DecisionTrigger, TradingDecision
from stonks.models.recommendations import (
    Recommendation,
    RecommendationAction,
    RecommendationStatus,
)
from stonks.queues import Delivery, Producer

logger = logging.getLogger(__name__)

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
    _returns: dict[tuple[str, int], Any] = field(default_factory=dict)

    def returns(self, bars: BarStore, ticker: str, at: int) -> Any:
        """Daily returns before epoch second ``at`` (the correlation gate's input)."""
        key = (ticker, at)
        if key not in self._returns:
            self._returns[key] = bars.returns(ticker, at)
        return self._returns[key]


def _insert_ignore_returning(conn: sa.Connection, table: sa.Table) -> Any:
    """Multi-row INSERT … ON CONFLICT (decision_key) DO NOTHING RETURNING id, decision_key."""
    return (insert_statement(conn, table).on_conflict_do_nothing(index_elements=["decision_key"])
            .returning(table.c.id, table.c.decision_key))


class TradingEngine:
    """Decides on recommendations for one broker account."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings, account_id: int,
                 account_name: str, *, bars: BarStore | None = None) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self.account_id = account_id
        self.account_name = account_name
        self.bars = bars or BarStore()
        self.limits = RiskLimits.from_settings(settings)
        self.breaker = CircuitBreaker(client, account_name)
        self.orders = Producer(client, redis_keys.QueueName.BROKER_ORDERS)
        self.last_moment: datetime | None = None  # newest market time seen (exit checks)

    # ---- entry points ------------------------------------------------------------------

    def handle(self, deliveries: Sequence[Delivery[RecommendationCommitted]]) -> None:
        self.decide_recommendations([(d.message.recommendation_id, d.message.as_of,
                                      d.message.origin_at) for d in deliveries])

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
        """Decide on a batch of committed recommendations in one transaction.

        The account, tier, breaker and reserve are read once per batch: decisions do not move
        them (only fills do, in the broker worker). Returns the broker jobs by recommendation.
        """
        pipe = self.client.pipeline(transaction=False)
        for rec_id, _, _ in items:
            pipe.exists(redis_keys.trading_dedupe(str(rec_id)))
        todo = {rec_id: (as_of, origin_at) for (rec_id, as_of, origin_at), seen
                in zip(items, pipe.execute(), strict=True) if not seen}
        if not todo:
            return {}
        r = table_of(Recommendation)
        jobs: dict[int, BrokerOrderJob] = {}
        with self.db.begin() as conn:
            recs = conn.execute(sa.select(r).where(r.c.id.in_(list(todo)))).all()
            trades = [self._trade(rec, *todo[int(rec.id)]) for rec in recs
                      if rec.status == RecommendationStatus.ACTIVE.value]
            decided = [int(rec.id) for rec in recs
                       if rec.status == RecommendationStatus.ACTIVE.value]
            if trades:
                for trade, job in zip(trades, self._decide_in(conn, trades), strict=True):
                    if job is not None and trade.recommendation_id is not None:
                        jobs[trade.recommendation_id] = job
        if jobs:
            self.orders.publish_many(list(jobs.values()))
        pipe = self.client.pipeline(transaction=False)
        for decided_id in decided:
            pipe.set(redis_keys.trading_dedupe(str(decided_id)), "1", ex=DEDUPE_TTL_S)
        pipe.execute()
        return jobs

    def _trade(self, rec: Any, as_of: datetime, origin_at: datetime) -> ProposedTrade:
        held = rec.action == RecommendationAction.SELL.value
        details = rec.details or {}
        trade = ProposedTrade(
            decision_key=f"rec:{rec.id}", trigger=DecisionTrigger.RECOMMENDATION,
            ticker=rec.ticker, side=OrderSide.SELL if held else OrderSide.BUY,
            moment=as_of if self.settings.trading_clock == "event" else datetime.now(UTC),
            origin_at=origin_at, confidence=float(rec.confidence),
            probability=rec.probability, payoff_ratio=rec.payoff_ratio,
            price=None if rec.entry_price is None else Decimal(rec.entry_price),
            recommendation_id=int(rec.id), company_id=rec.company_id,
            sector=details.get("sector"),
            exits={"stop_loss": None if rec.stop_loss is None else str(rec.stop_loss),
                   "targets": list(rec.targets or []),
                   "trailing_atr_multiple": self.settings.signal_trailing_atr_multiple,
                   "trailing_stop": details.get("trailing_stop"),
                   "sector": details.get("sector")},
        )
        self.last_moment = max(self.last_moment or trade.moment, trade.moment)
        return trade

    # ---- the decision ------------------------------------------------------------------

    def decide(self, trade: ProposedTrade) -> BrokerOrderJob | None:
        """Gate, size and record one trade; publish its broker job if it acts."""
        with self.db.begin() as conn:
            job = self._decide_in(conn, [trade])[0]
        if job is not None:
            self.orders.publish(job)
        return job

    def _decide_in(self, conn: sa.Connection,
                   trades: Sequence[ProposedTrade]) -> list[BrokerOrderJob | None]:
        """Gate, size and record ``trades`` in ``conn``; their broker jobs (not published)."""
        portfolio = load_portfolio(conn, self.account_id)
        tier = portfolio.tier or current_tier(conn, self.account_id,
                                              self.settings.risk_initial_tier)
        batch = _Batch(portfolio, self.limits.for_tier(tier), self.breaker.state())
        t = table_of(TradingDecision)
        decided = [self._decide(conn, trade, batch) for trade in trades]
        rows = [row for row, _ in decided]
        inserted = {key: int(i) for i, key in conn.execute(
            _insert_ignore_returning(conn, t), rows)} if rows else {}
        out: list[BrokerOrderJob | None] = []
        acted: list[int] = []
        for trade, (_, job) in zip(trades, decided, strict=True):
            decision_id = inserted.get(trade.decision_key)
            if decision_id is None:
                existing = conn.execute(sa.select(t).where(
                    t.c.decision_key == trade.decision_key)).one()
                if existing.outcome != DecisionOutcome.ACT.value:
                    out.append(None)
                    continue
                decision_id = int(existing.id)
                # Re-publish the original decision's order (the broker dedupes it).
                job = self._job(trade, Decimal(existing.quantity),
                                Decimal(existing.reference_price))
            if job is not None and trade.recommendation_id is not None:
                acted.append(trade.recommendation_id)
            out.append(None if job is None
                       else job.model_copy(update={"decision_id": decision_id}))
        if acted:
            r = table_of(Recommendation)
            conn.execute(sa.update(r).where(r.c.id.in_(acted))
                         .values(status=RecommendationStatus.ACTED.value))
        return out

    def _decide(self, conn: sa.Connection, trade: ProposedTrade,
                batch: _Batch) -> tuple[dict[str, Any], BrokerOrderJob | None]:
        portfolio, limits = batch.portfolio, batch.limits
        snap = self.bars.snapshot(trade.ticker, trade.moment)
        at = int(trade.moment.timestamp())
        price = trade.price or (Decimal(str(snap.close)) if snap else Decimal(0))
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
            limits=limits, breaker=batch.breaker,
            returns=batch.returns(self.bars, trade.ticker, at),
            held_returns={t: r for t in portfolio.positions
                          if (r := batch.returns(self.bars, t, at)) is not None},
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
            "decided_at": datetime.now(UTC), "gate_results": gates, "sizing": sizing,
        }
        if not act:
            return row, None
        return row, self._job(trade, qty, price)

    def _job(self, trade: ProposedTrade, qty: Decimal | None, price: Decimal) -> BrokerOrderJob:
        return BrokerOrderJob(
            client_order_id=client_order_id(trade.decision_key), broker_account_id=self.account_id,
            ticker=trade.ticker, side=trade.side, quantity=qty, reference_price=price,
            source=trade.trigger, as_of=trade.moment, origin_at=trade.origin_at,
            exits=trade.exits or {})
