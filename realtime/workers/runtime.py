"""Builds the consumer of one queue with its service, and its background duties.

The broker worker reconciles with the broker before it consumes anything and polls open
orders; the trading worker runs the watermark poll that catches recommendations whose
announcement was lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy.engine import Engine

from realtime.aggregation import AggregationService
from realtime.broker import BrokerService, account_name, ensure_account, make_broker, reconcile
from realtime.market_data import BarStore
from realtime.messages import (
    THESIS_QUEUE,
    TRADING_QUEUE,
    BrokerOrderJob,
    RecommendationCommitted,
    RecommendationJob,
    ThesisJob,
)
from realtime.notifications import notifier_from_settings
from realtime.recommendation import RecommendationService
from realtime.recommendation.rewriter import (
    ThesisRewriter,
    sweep_missed,
    thesis_consumer_config,
)
from realtime.trading import TradingEngine
from realtime.trading.exits import ExitMonitor
from stonks import redis_keys
from stonks.config import Settings
from stonks.queues import Consumer, ConsumerConfig, Outbox
from stonks.weighted_signals import AggregationJob

logger = logging.getLogger(__name__)

QUEUES = (redis_keys.QueueName.AGGREGATION.value, redis_keys.QueueName.RECOMMENDATION.value,
          TRADING_QUEUE, redis_keys.QueueName.BROKER_ORDERS.value, THESIS_QUEUE)


def default_queues(settings: Settings) -> tuple[str, ...]:
    """The queues started when none are named: the thesis queue only with an LLM."""
    if settings.llm_provider == "none":
        return tuple(q for q in QUEUES if q != THESIS_QUEUE)
    return QUEUES


@dataclass
class Worker:
    """A consumer plus the periodic duties that run beside it."""

    consumer: Consumer[Any]
    duties: list[tuple[float, Callable[[], object]]] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def run(self, *, max_idle_polls: int | None = None) -> None:
        stop = threading.Event()
        threads = [threading.Thread(target=_every, args=(interval, duty, stop), daemon=True,
                                    name=f"duty-{i}")
                   for i, (interval, duty) in enumerate(self.duties)]
        for thread in threads:
            thread.start()
        try:
            self.consumer.run(max_idle_polls=max_idle_polls)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=5)
            for close in self.closers:
                close()

    def stop(self) -> None:
        self.consumer.stop()


def _every(interval: float, duty: Callable[[], object], stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            duty()
        except Exception:
            logger.exception("periodic duty failed")


def build_worker(queue: str, name: str, settings: Settings, db: Engine,
                 client: redis.Redis) -> Worker:
    """The worker of ``queue``, named ``name`` inside the group."""
    config = ConsumerConfig.from_settings(settings)
    bars = BarStore()
    # A handler's last hand-offs ride on its consumer's next round trip.
    outbox = Outbox()
    if queue == redis_keys.QueueName.AGGREGATION:
        aggregation = AggregationService(db, client, settings, bars=bars, outbox=outbox)
        return Worker(Consumer(client, queue, AggregationJob, aggregation.handle,
                               consumer_name=name, config=config, outbox=outbox),
                      closers=[aggregation.close])
    if queue == redis_keys.QueueName.RECOMMENDATION:
        recs = RecommendationService(db, client, settings, outbox=outbox)
        return Worker(Consumer(client, queue, RecommendationJob, recs.handle,
                               consumer_name=name, config=config, outbox=outbox),
                      closers=[recs.close])
    if queue == THESIS_QUEUE:  # idle (acknowledges, calls nothing) when no LLM is configured
        rewriter = ThesisRewriter(db, settings)

        def sweep() -> object:
            return sweep_missed(db, client)

        return Worker(Consumer(client, queue, ThesisJob, rewriter.handle, consumer_name=name,
                               config=thesis_consumer_config(settings)),
                      duties=([(settings.thesis_sweep_interval_s, sweep)]
                              if rewriter.llm is not None else []),
                      closers=[rewriter.close])
    broker = make_broker(settings, client, bars)
    account_id = ensure_account(db, settings, broker)
    if queue == TRADING_QUEUE:
        engine = TradingEngine(db, client, settings, account_id, account_name(settings),
                               bars=bars, outbox=outbox)
        exits = ExitMonitor(engine, notifier_from_settings(settings, client))

        def check_exits() -> object:
            moment = (engine.last_moment if settings.trading_clock == "event"
                      else datetime.now(UTC))
            return exits.check(moment) if moment is not None else None

        return Worker(Consumer(client, queue, RecommendationCommitted, engine.handle,
                               consumer_name=name, config=config, outbox=outbox,
                               read_along=engine.breaker),
                      duties=[(settings.trading_watermark_poll_s, engine.poll_missed),
                              (settings.broker_poll_interval_s, check_exits)],
                      closers=[engine.close, broker.close])
    if queue == redis_keys.QueueName.BROKER_ORDERS:
        result = reconcile(db, broker, account_id)  # before anything is consumed
        logger.info("start-up reconciliation", extra={"status": result.status.value})
        notifier = notifier_from_settings(settings, client)
        service = BrokerService(db, client, settings, broker, account_id,
                                account_name(settings), notifier=notifier, outbox=outbox)
        stops: list[Callable[[], None]] = []
        if settings.broker == "alpaca":  # fills as they happen; polling stays the fallback
            from realtime.broker.trade_updates import TradeUpdatesListener

            listener = TradeUpdatesListener.for_service(settings, service)
            listener.start()
            stops.append(listener.stop)
        return Worker(Consumer(client, queue, BrokerOrderJob, service.handle,
                               consumer_name=name, config=config, outbox=outbox,
                               read_along=service.breaker),
                      duties=[(settings.broker_poll_interval_s, service.sync_open_orders)],
                      closers=[*stops, service.close, broker.close]
                      + ([notifier.close] if notifier else []))
    raise ValueError(f"unknown queue {queue!r}; expected one of {', '.join(QUEUES)}")
