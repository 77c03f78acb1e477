"""Demo stage: the sample window through aggregation → recommendation → decision → order →
fill → position on the simulated broker, through the real queues and services.

The bundled sample has bars but no valuation or earnings calendar (and the macro layer
may have nothing for a ticker), so with nothing else the signal engine caps every BUY at
WATCH. The demo supplies the inputs the sample implies and says so: where the macro layer
is silent the bias is the equal-weighted 20-session return of the whole bundled universe
(a market backdrop), valuation is the sector median P/E (neutral) and the next earnings
date is outside the blackout. It replays the newest session of the sample in which the
engine then rates a tracked ticker BUY. A manual override order (idempotent, so a second
run changes nothing) then goes through the same gates, risk engine and broker queue.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.aggregation.service import AggregationService, Fundamentals
from realtime.broker.factory import make_broker
from realtime.market_data import BarStore
from realtime.replay import SAMPLE_VALUATION, buy_candidates, next_earnings_for, session_moments
from realtime.services import ControlService
from realtime.sql import table_of
from realtime.workers.runtime import QUEUES, Worker, build_worker
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import BrokerAccount, Order, TradingDecision
from stonks.models.portfolio import Position
from stonks.models.recommendations import Recommendation
from stonks.queues import Consumer, ConsumerConfig, Producer
from stonks.universe import load_universe
from stonks.weighted_signals import AggregationJob

#: The sample's last session; the demo replays the newest session with a BUY before it.
SAMPLE_LAST_DAY = date(2010, 8, 20)


class SampleFundamentals:
    """Neutral valuation (P/E at the sector median) and earnings outside the blackout."""

    def get(self, ticker: str, as_of: datetime) -> Fundamentals:
        return Fundamentals(SAMPLE_VALUATION, next_earnings_for(as_of))


def market_backdrop(bars: BarStore, tickers: list[str], moment: datetime) -> float:
    """Equal-weighted 20-session return of the universe, squashed into [-1, 1]."""
    returns = [r for t in tickers if (r := bars.returns(t, moment, 20)) is not None]
    total = float(np.mean([np.prod(1 + r) - 1 for r in returns])) if returns else 0.0
    return math.tanh(total * 10)


def _drain(workers: dict[str, Worker]) -> None:
    for _ in range(50):
        if not sum(workers[q].consumer.run_once() for q in QUEUES):
            return


def run(settings: Settings, db: Engine, client: redis.Redis, tickers: list[str]) -> None:
    # The batch tier's jobs for these tickers ran moments ago; the 5-minute per-ticker
    # recommendation dedupe would swallow the replay's jobs, so the demo turns it off.
    settings = settings.model_copy(update={"rec_dedup_ttl_s": 0})
    bars = BarStore()
    universe = sorted(t for t in _universe(bars))
    moment, bias, buys = _replay_moment(bars, universe, tickers)
    workers = {q: build_worker(q, f"demo-{q}", settings, db, client) for q in reversed(QUEUES)}
    aggregation = AggregationService(db, client, settings, bars=bars,
                                     fundamentals=SampleFundamentals(),
                                     macro_fallback=lambda _t, _a: bias)
    workers[redis_keys.QueueName.AGGREGATION] = Worker(Consumer(
        client, redis_keys.QueueName.AGGREGATION, AggregationJob, aggregation.handle,
        consumer_name="demo-aggregation", config=ConsumerConfig(block_ms=50)))
    for worker in workers.values():
        worker.consumer.ensure_group()
    print(f"trading path on the simulated broker, replaying {moment:%Y-%m-%d %H:%M} UTC "
          f"(10:30 New York) through the queues; inputs supplied: macro bias {bias:+.2f} "
          "(universe 20-session return) where the macro layer is silent, P/E at sector "
          f"median, next earnings {next_earnings_for(moment)}; engine BUYs then: "
          f"{', '.join(buys) or 'none'}")
    Producer(client, redis_keys.QueueName.AGGREGATION).publish_many(
        [AggregationJob(ticker=t, as_of=moment, reason="demo") for t in tickers])
    _drain(workers)
    control = ControlService(db, client, settings, make_broker(settings, client, bars))
    manual = control.override_order(ticker="MSFT", side=OrderSide.BUY, quantity=Decimal(20),
                                    actor="demo", as_of=moment, idempotency_key="demo-msft")
    _drain(workers)
    _print(db, moment)
    print(f"  manual override MSFT buy 20 (POST /override/order): decision "
          f"{manual['outcome']}, blocked_by {manual['blocked_by']}, "
          f"client_order_id {manual['client_order_id']}")


def _replay_moment(bars: BarStore, universe: list[str],
                   tickers: list[str]) -> tuple[datetime, float, list[str]]:
    moments = session_moments(SAMPLE_LAST_DAY, 80)
    for moment in moments:
        bias = market_backdrop(bars, universe, moment)
        found = buy_candidates(tickers, [moment], macro_bias=bias, bars=bars)
        if found:
            return moment, bias, found[0][1]
    return moments[0], market_backdrop(bars, universe, moments[0]), []


def _universe(bars: BarStore) -> list[str]:
    return [c.ticker for c in load_universe() if bars.daily(c.ticker) is not None]


def _print(db: Engine, moment: datetime) -> None:
    r, d, o = table_of(Recommendation), table_of(TradingDecision), table_of(Order)
    p, a = table_of(Position), table_of(BrokerAccount)
    with db.connect() as conn:
        recs = conn.execute(sa.select(r).where(
            r.c.idempotency_key.like(f"rec:%:{moment.isoformat()}")).order_by(r.c.ticker)).all()
        decisions = {x.recommendation_id: x for x in conn.execute(sa.select(d))}
        orders = conn.execute(sa.select(o).order_by(o.c.id)).all()
        positions = conn.execute(sa.select(p).order_by(p.c.ticker)).all()
        accounts = conn.execute(sa.select(a)).all()
    print(f"  {'ticker':<7}{'action':<7}{'status':<11}{'P(win)':>7} {'decision':<9}"
          f"{'blocked by / reason'}")
    for rec in recs:
        dec = decisions.get(rec.id)
        why = rec.suppression_reason or (dec.blocked_by or dec.reason if dec else "-")
        p_win = f"{rec.probability:.2f}" if rec.probability is not None else "  -"
        print(f"  {rec.ticker:<7}{rec.action:<7}{rec.status:<11}{p_win:>7} "
              f"{dec.outcome if dec else '-':<9}{why}")
    print("  orders:")
    for order in orders:
        print(f"    {order.client_order_id:<24} {order.side:<4} {order.ticker:<6} "
              f"qty {order.quantity} {order.status:<16} filled {order.filled_quantity} @ "
              f"{order.filled_avg_price}  ({order.source})")
    print("  positions:")
    for pos in positions:
        print(f"    {pos.ticker:<6} {pos.status:<6} qty {pos.quantity} avg {pos.avg_entry_price} "
              f"stop {pos.stop_loss} target {pos.take_profit}")
    for acc in accounts:
        print(f"  account {acc.name}: cash {acc.cash} equity {acc.equity} "
              f"({acc.reconciliation_status})")
