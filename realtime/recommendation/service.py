"""The recommendation worker's handler.

Each job becomes exactly one ``recommendations`` row (unique idempotency key), with its
evidence rows and a ``risk_evaluations`` row, in one transaction. Actionable ones (BUY/SELL,
active, not advisory) are then announced on the trading queue after the commit; with an LLM
configured, active BUY/SELL ones also get a job on the thesis queue (``rewriter.py``).

Per batch: the jobs are drafted in Python (``drafting.py``: eligibility, contradiction and
the cooldown among the batch's own jobs), stored in one round trip on PostgreSQL
(``store.py``: the cooldown against committed rows, the three inserts and the commit in
one prepared statement), and one Redis pipeline carries the trading announcements, the
lake facts and the thesis jobs.

The announcements' message ids are derived from the committed row
(``recommendation:<id>:<what>``): an announcement of the same recommendation always
carries the same id, and no random id is drawn per message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import redis
from sqlalchemy.engine import Engine

from realtime.lake import RecommendationFact
from realtime.messages import (
    THESIS_QUEUE,
    TRADING_QUEUE,
    RecommendationCommitted,
    RecommendationJob,
    ThesisJob,
)
from realtime.recommendation.drafting import ACTIONABLE, Draft, Drafter
from realtime.recommendation.store import RecommendationStore, Stored
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import TradingMode
from stonks.models.recommendations import RecommendationStatus
from stonks.queues import Delivery, Outbox
from stonks.queues.producer import Entry

logger = logging.getLogger(__name__)

_ACTIONABLE_VALUES = frozenset(a.value for a in ACTIONABLE)
_ACTIVE = RecommendationStatus.ACTIVE.value


class RecommendationService:
    """Handles batches of RecommendationJobs."""

    def __init__(self, db: Engine, client: redis.Redis, settings: Settings, *,
                 outbox: Outbox | None = None) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        # The consumer's, in a worker: the announcements ride on its next round trip.
        self.outbox = outbox or Outbox()
        self.drafter = Drafter(settings)
        self.store = RecommendationStore(db)
        # Advisory mode stores recommendations without announcing them to the trader.
        self._trading_stream = (redis_keys.queue(TRADING_QUEUE)
                                if self.drafter.mode is not TradingMode.ADVISORY else None)
        self._lake_stream = redis_keys.queue(redis_keys.QueueName.LAKE_PUBLISH)
        # The LLM rewrites theses on its own queue, never inline; no LLM, no jobs.
        self._thesis_stream = (redis_keys.queue(THESIS_QUEUE)
                               if settings.llm_provider != "none" else None)

    def close(self) -> None:
        """Release the store's database connection."""
        self.store.close()

    def handle(self, deliveries: Sequence[Delivery[RecommendationJob]]) -> None:
        now = datetime.now(UTC)
        drafts = self.drafter.draft_many([d.message for d in deliveries], now)
        if not drafts:
            return
        stored = self.store.store(drafts, now)  # committed on return
        if stored:
            self._publish(drafts, stored)

    def _publish(self, drafts: list[Draft], stored: dict[str, Stored]) -> None:
        """Announce the new, actionable recommendations (committed by now) on the trading
        queue; the lake facts and thesis jobs ride in the same pipeline, after them."""
        announcements: list[Entry] = []
        created_at = datetime.now(UTC)
        facts: list[dict[str, str]] = []
        theses: list[dict[str, str]] = []
        verbose = logger.isEnabledFor(logging.INFO)
        for d in drafts:
            row = stored.get(d.rec.idempotency_key)
            if row is None:
                continue
            rec, job = d.rec, d.job
            action = rec.action.value
            prefix = f"recommendation:{row.id}:"
            if row.status == _ACTIVE and action in _ACTIONABLE_VALUES:
                if self._trading_stream is not None:
                    announcements.append((self._trading_stream, RecommendationCommitted(
                        message_id=prefix + "committed", created_at=created_at,
                        recommendation_id=row.id, as_of=job.as_of,
                        origin_at=job.origin_at).to_fields()))
                if self._thesis_stream is not None:
                    theses.append(ThesisJob(
                        message_id=prefix + "thesis", created_at=created_at,
                        recommendation_id=row.id, as_of=job.as_of,
                        origin_at=job.origin_at).to_fields())
            facts.append(RecommendationFact(
                message_id=prefix + "fact", created_at=created_at,
                recommendation_id=row.id, ticker=rec.ticker, action=action, status=row.status,
                confidence=rec.confidence, probability=rec.probability,
                as_of=job.as_of).to_fields())
            if verbose:
                logger.info("recommendation stored", extra={
                    "ticker": rec.ticker, "id": row.id, "action": action,
                    "status": row.status})
        # Then the hand-off to the lake DAG and the thesis jobs.
        announcements += [(self._lake_stream, fact) for fact in facts]
        if self._thesis_stream is not None:
            announcements += [(self._thesis_stream, thesis) for thesis in theses]
        self.outbox.publish(self.client, announcements)
