"""The consumer loop: at-least-once delivery on Redis Streams with consumer groups.

Each iteration reads a batch (``XREADGROUP … BLOCK``), decodes it, hands the valid messages
to the handler and acknowledges them only after the handler returned, which is after its
database commit. Nothing is acknowledged on failure, so a worker that dies mid-batch loses
nothing: its entries stay pending and a live consumer reclaims them once they have been idle
longer than the visibility timeout. A failing message is retried with exponential backoff
(the entry id waits in ``stonks:retry:<queue>``) until the delivery count reaches the budget,
then it goes to ``stonks:dlq:<queue>`` with the error. Entries that cannot be decoded go to
the dead-letter queue at once. Handlers must be idempotent: redelivery is normal. How an
entry comes back (the reclaim, the retries) or leaves (the dead-lettering) is done on Redis
by ``stonks.queues.redelivery``; this module decides which an entry gets.

Round trips: in the long-running loop a batch costs one round trip of its own. The
hand-offs the handler left in the ``Outbox`` (if the consumer has one), the acknowledgement
of the batch just handled, the toggle, the due retries and the blocking read of the next
batch go out as one pipeline, in that order (Redis applies the hand-offs, then the
acknowledgement, before the read blocks). ``run_once`` (tools and tests) sends them before
it returns. Reads a handler wants fresh for each batch (its ``ReadAlong``) follow the
blocking read in that pipeline.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Generic, Protocol, TypeVar

import redis

from stonks import redis_keys
from stonks.config import Settings
from stonks.errors import MessageRejected
from stonks.queues.messages import Fields, QueueMessage
from stonks.queues.outbox import Outbox
from stonks.queues.redelivery import RawEntry, Redelivery, entry_id_text
from stonks.queues.toggle import PipelineToggle

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=QueueMessage)

DEFAULT_GROUP = "workers"


@dataclass(frozen=True, slots=True)
class Delivery(Generic[M]):
    """One message as delivered: its stream entry id and how often it has been delivered."""

    entry_id: str
    message: M
    delivery_count: int


Handler = Callable[[Sequence[Delivery[M]]], None]


@dataclass(frozen=True)
class ConsumerConfig:
    group: str = DEFAULT_GROUP
    batch_size: int = 100
    block_ms: int = 1000
    visibility_timeout_s: float = 30.0
    max_deliveries: int = 5
    retry_base_s: float = 0.5
    retry_max_s: float = 60.0
    reclaim_interval_s: float = 5.0
    pause_poll_s: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> ConsumerConfig:
        values: dict[str, object] = {
            "batch_size": settings.queue_batch_size,
            "block_ms": settings.queue_block_ms,
            "visibility_timeout_s": settings.queue_visibility_timeout_s,
            "max_deliveries": settings.queue_max_deliveries,
            "retry_base_s": settings.queue_retry_base_s,
            "retry_max_s": settings.queue_retry_max_s,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def backoff_s(self, delivery_count: int) -> float:
        """Exponential backoff with full jitter on the upper half, capped."""
        ceiling = min(self.retry_max_s, self.retry_base_s * 2 ** max(0, delivery_count - 1))
        return float(ceiling / 2 + random.random() * ceiling / 2)


@dataclass
class ConsumerStats:
    handled: int = 0
    retried: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class ReadAlong(Protocol):
    """Reads a handler wants fresh for each batch, sent with the batch's read (no round
    trip of their own). They follow the blocking read in the pipeline, so Redis runs them
    when the batch arrives."""

    def queue_reads(self, pipe: Any) -> int:
        """Queue the reads on ``pipe``; how many replies they take."""

    def take_replies(self, replies: Sequence[Any] | None) -> None:
        """Their replies before the iteration's batches are handled; None after (stale)."""


class Consumer(Generic[M]):
    """Consumes one queue as one member of its consumer group."""

    def __init__(
        self,
        client: redis.Redis,
        queue: str,
        message_type: type[M],
        handler: Handler[M],
        *,
        consumer_name: str,
        config: ConsumerConfig | None = None,
        outbox: Outbox | None = None,
        read_along: ReadAlong | None = None,
    ) -> None:
        self._client = client
        self.queue = queue
        self.message_type = message_type
        self.handler = handler
        self.name = consumer_name
        self.config = config or ConsumerConfig()
        self._redelivery = Redelivery(
            client, queue, group=self.config.group, consumer_name=consumer_name,
            batch_size=self.config.batch_size,
        )
        self.stream = self._redelivery.stream
        self.dlq_stream = self._redelivery.dlq_stream
        self.retry_key = self._redelivery.retry_key
        # What the handler hands on, sent with the batch's acknowledgement.
        self.outbox = outbox or Outbox()
        self.read_along = read_along
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        self._next_reclaim = 0.0
        self._paused = False
        # Handled entries whose XACK/XDEL rides on the next read's pipeline.
        self._unacked: list[str] = []
        # Entries read in the pipeline that found the toggle off: handled on resume.
        self._held: list[RawEntry] = []

    # ---- lifecycle -------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the stream and the consumer group if they do not exist yet."""
        try:
            self._client.xgroup_create(self.stream, self.config.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, acknowledge it and return."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the loop gracefully (main thread only)."""

        def _graceful(signum: int, _frame: FrameType | None) -> None:
            logger.info("stopping after the batch in hand", extra={"signal": signum})
            self.stop()

        signal.signal(signal.SIGTERM, _graceful)
        signal.signal(signal.SIGINT, _graceful)

    def run(self, *, max_idle_polls: int | None = None) -> ConsumerStats:
        """Consume until stopped (or, for tools and tests, after ``max_idle_polls`` empty reads)."""
        self.ensure_group()
        idle_polls = 0
        logger.info("consumer started", extra={"queue": self.queue, "consumer": self.name})
        try:
            while not self._stop.is_set():
                worked = self._iterate()
                idle_polls = 0 if worked else idle_polls + 1
                if max_idle_polls is not None and idle_polls >= max_idle_polls:
                    break
        finally:
            self._flush_acks()
        logger.info(
            "consumer stopped",
            extra={"queue": self.queue, "consumer": self.name, "handled": self.stats.handled},
        )
        return self.stats

    def run_once(self) -> int:
        """One iteration, acknowledged before it returns; the number of entries it took."""
        try:
            return self._iterate()
        finally:
            self._flush_acks()

    def _iterate(self) -> int:
        """Acknowledge the last batch, honour the toggle, reclaim, retry what is due, read."""
        worked = 0
        now = time.monotonic()
        if not self._paused and now >= self._next_reclaim:
            self._next_reclaim = now + self.config.reclaim_interval_s
            self._flush_acks()  # what this consumer finished is not idle work to reclaim
            worked += self._process(self._reclaim_idle())
        pipe = self._client.pipeline(transaction=False)
        sent = self._queue_acks(pipe)
        pipe.get(redis_keys.PIPELINE_ENABLED)
        self._redelivery.queue_due_retries(pipe)
        reading = not self._paused
        along = 0
        if reading:
            self._queue_read(pipe)
            if self.read_along is not None:
                along = self.read_along.queue_reads(pipe)
        replies = pipe.execute()[sent:]
        toggle_value, due = replies[0], replies[1]
        fresh = self._entries(replies[2]) if reading else []
        if not PipelineToggle.is_enabled_value(toggle_value):
            # Read in the same round trip as the toggle: kept, unacknowledged, for the resume.
            self._held.extend(fresh)
            if not self._paused:
                logger.info("pipeline disabled: consumer paused", extra={"queue": self.queue})
                self._paused = True
            self._stop.wait(self.config.pause_poll_s)
            return worked
        if self._paused:
            logger.info("pipeline enabled: consumer resumed", extra={"queue": self.queue})
            self._paused = False
        if self.read_along is None or not along:
            return worked + self._handle_read(due, fresh)
        self.read_along.take_replies(replies[3:3 + along])
        try:
            return worked + self._handle_read(due, fresh)
        finally:
            self.read_along.take_replies(None)

    def _handle_read(self, due: list[Any], fresh: list[RawEntry]) -> int:
        """Handle the held entries, the due retries and the batch just read."""
        held, self._held = self._held, []
        worked = self._process(held)
        if due:
            worked += self._process(self._redelivery.claim_due_retries(due))
        return worked + self._process(fresh)

    # ---- reading ---------------------------------------------------------------------------

    def _read_new(self) -> list[RawEntry]:
        pipe = self._client.pipeline(transaction=False)
        self._queue_read(pipe)
        return self._entries(pipe.execute()[0])

    def _queue_read(self, pipe: Any) -> None:
        pipe.xreadgroup(
            self.config.group,
            self.name,
            {self.stream: ">"},
            count=self.config.batch_size,
            block=self.config.block_ms,
        )

    @staticmethod
    def _entries(response: Any) -> list[RawEntry]:
        # redis-py types replies as RESP2|RESP3 unions; the shapes here are RESP2's.
        if not response:
            return []
        entries = response[0][1]
        return [(entry_id_text(entry_id), fields, 1) for entry_id, fields in entries]

    def _reclaim_idle(self) -> list[RawEntry]:
        """Take over entries another (dead or stuck) consumer left idle past the timeout."""
        claimed = self._redelivery.reclaim_idle(self.config.visibility_timeout_s)
        self.stats.reclaimed += len(claimed)
        return claimed

    # ---- handling --------------------------------------------------------------------------

    def _process(self, entries: list[RawEntry]) -> int:
        if not entries:
            return 0
        deliveries: list[Delivery[M]] = []
        fields_by_id: dict[str, Fields] = {}
        for entry_id, fields, count in entries:
            if fields is None:  # trimmed or deleted while pending: nothing left to do
                self._ack([entry_id])
                continue
            if count > self.config.max_deliveries:
                self._dead_letter(
                    entry_id, fields, count,
                    f"delivered {count - 1} times without being acknowledged "
                    "(worker crashed or exceeded the visibility timeout)",
                )
                continue
            try:
                message = self.message_type.from_fields(fields)
            except MessageRejected as exc:
                self._dead_letter(entry_id, fields, count, f"rejected: {exc}")
                continue
            deliveries.append(Delivery(entry_id, message, count))
            fields_by_id[entry_id] = fields
        if deliveries:
            self._handle(deliveries, fields_by_id)
        return len(entries)

    def _handle(self, deliveries: list[Delivery[M]], fields: dict[str, Fields]) -> None:
        mark = self.outbox.open()
        try:
            self.handler(deliveries)
        except Exception as exc:
            self.outbox.close()
            self.outbox.discard(mark)  # the batch is retried: it publishes again then
            if len(deliveries) > 1:
                # Isolate the failing message(s): the others must not share their fate.
                for delivery in deliveries:
                    self._handle([delivery], fields)
                return
            self._fail(deliveries[0], fields[deliveries[0].entry_id], exc)
            return
        finally:
            self.outbox.close()
        self._ack([d.entry_id for d in deliveries])
        self.stats.handled += len(deliveries)

    def _fail(self, delivery: Delivery[M], fields: Fields, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if delivery.delivery_count >= self.config.max_deliveries:
            self._dead_letter(
                delivery.entry_id, fields, delivery.delivery_count,
                f"failed {delivery.delivery_count} times; last error {reason}",
            )
            return
        delay = self.config.backoff_s(delivery.delivery_count)
        self._redelivery.retry_later(delivery.entry_id, delay)
        self.stats.retried += 1
        logger.warning(
            "handler failed; will retry",
            extra={
                "queue": self.queue, "entry_id": delivery.entry_id,
                "delivery_count": delivery.delivery_count, "retry_in_s": round(delay, 3),
                "error": reason,
            },
        )

    def _ack(self, ids: list[str]) -> None:
        # Sent with the next read (or by ``_flush_acks``). One group per queue, so an
        # acknowledged entry is finished: it is deleted to keep the stream's length equal
        # to the backlog.
        self._unacked.extend(ids)

    def _queue_acks(self, pipe: Any) -> int:
        """Queue the handler's hand-offs, then the acknowledgement of what it finished, on
        ``pipe``; how many replies they take."""
        sent = self.outbox.queue_on(pipe)
        ids, self._unacked = self._unacked, []
        if ids:
            pipe.xack(self.stream, self.config.group, *ids)
            pipe.xdel(self.stream, *ids)
            sent += 2
        return sent

    def _flush_acks(self) -> None:
        pipe = self._client.pipeline(transaction=False)
        if self._queue_acks(pipe):
            pipe.execute()

    def _dead_letter(self, entry_id: str, fields: Fields, count: int, reason: str) -> None:
        self._redelivery.dead_letter(entry_id, fields, count, reason)
        self.stats.dead_lettered += 1
