"""Redelivery on a work queue: what happens to the entries a consumer did not acknowledge.

An entry comes back to a consumer in two ways. One another (dead or stuck) consumer left
pending longer than the visibility timeout is reclaimed (``XCLAIM``). One whose handler
failed waits in ``stonks:retry:<queue>`` (a sorted set scored by when it is due) and is
claimed when due by the consumer that removes it from there first. An entry that has used
its delivery budget, or cannot be decoded, leaves for ``stonks:dlq:<queue>`` with the
reason, in one transaction with its acknowledgement. ``Consumer`` decides which of these an
entry gets; this module does them on Redis.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import redis

from stonks import redis_keys
from stonks.queues.messages import Fields

logger = logging.getLogger(__name__)

RawEntry = tuple[str, Fields | None, int]  # entry id, fields (None if trimmed), delivery count


class Redelivery:
    """Reclaim, retry and dead-letter of one queue's entries for one consumer of a group."""

    def __init__(
        self, client: redis.Redis, queue: str, *, group: str, consumer_name: str, batch_size: int
    ) -> None:
        self._client = client
        self.queue = queue
        self.stream = redis_keys.queue(queue)
        self.dlq_stream = redis_keys.dlq(queue)
        self.retry_key = redis_keys.retry(queue)
        self._group = group
        self._name = consumer_name
        self._batch_size = batch_size

    def reclaim_idle(self, visibility_timeout_s: float) -> list[RawEntry]:
        """Take over entries another (dead or stuck) consumer left idle past the timeout."""
        idle_ms = int(visibility_timeout_s * 1000)
        pending: Any = self._client.xpending_range(
            self.stream, self._group, min="-", max="+",
            count=self._batch_size, idle=idle_ms,
        )
        if not pending:
            return []
        ids = [entry_id_text(item["message_id"]) for item in pending]
        # Entries waiting for a scheduled retry are not abandoned; leave them to the retry path.
        scores: Any = self._client.zmscore(self.retry_key, ids)
        counts = {
            entry_id_text(item["message_id"]): int(item["times_delivered"])
            for item, score in zip(pending, scores, strict=True)
            if score is None
        }
        if not counts:
            return []
        claimed = self._claim(list(counts), idle_ms, counts)
        if claimed:
            logger.warning(
                "reclaimed idle entries", extra={"queue": self.queue, "count": len(claimed)}
            )
        return claimed

    def queue_due_retries(self, pipe: Any) -> None:
        """Queue on ``pipe`` the read of the retries due now (one reply: their entry ids)."""
        pipe.zrangebyscore(self.retry_key, "-inf", time.time(), start=0, num=self._batch_size)

    def claim_due_retries(self, due: list[Any]) -> list[RawEntry]:
        """Claim the due retries ``due`` (as read by ``queue_due_retries``) no other
        consumer claimed first."""
        pipe = self._client.pipeline(transaction=False)
        for entry_id in due:
            pipe.zrem(self.retry_key, entry_id)
        # ZREM is the claim token between consumers: only the one that removed it retries it.
        removed = pipe.execute()
        mine = [entry_id_text(entry_id)
                for entry_id, gone in zip(due, removed, strict=True) if gone]
        if not mine:
            return []
        pipe = self._client.pipeline(transaction=False)
        for entry_id in mine:
            pipe.xpending_range(self.stream, self._group, min=entry_id, max=entry_id, count=1)
        counts = {
            entry_id: int(found[0]["times_delivered"])
            for entry_id, found in zip(mine, pipe.execute(), strict=True)
            if found
        }
        return self._claim(list(counts), 0, counts) if counts else []

    def retry_later(self, entry_id: str, delay_s: float) -> None:
        """Schedule ``entry_id`` (left pending) for a retry in ``delay_s`` seconds."""
        self._client.zadd(self.retry_key, {entry_id: time.time() + delay_s})

    def dead_letter(self, entry_id: str, fields: Fields, count: int, reason: str) -> None:
        """Move the entry to the dead-letter stream with ``reason``, acknowledged and
        deleted from the queue and its retry schedule, in one transaction."""
        record: dict[bytes | str, bytes | str] = {
            "queue": self.queue,
            "entry_id": entry_id,
            "error": reason[:4000],
            "deliveries": str(count),
            "failed_at": datetime.now(UTC).isoformat(),
            "consumer": self._name,
        }
        for key, value in fields.items():
            record[b"orig:" + key] = value
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(self.dlq_stream, record)  # type: ignore[arg-type]
        pipe.xack(self.stream, self._group, entry_id)
        pipe.xdel(self.stream, entry_id)
        pipe.zrem(self.retry_key, entry_id)
        pipe.execute()
        logger.error(
            "entry dead-lettered",
            extra={"queue": self.queue, "entry_id": entry_id, "reason": reason[:500]},
        )

    def _claim(self, ids: list[str], min_idle_ms: int, counts: dict[str, int]) -> list[RawEntry]:
        claimed: Any = self._client.xclaim(
            self.stream, self._group, self._name, min_idle_ms, list[Any](ids)
        )
        entries: list[RawEntry] = []
        for entry_id, fields in claimed:
            if entry_id is None:
                continue
            key = entry_id_text(entry_id)
            entries.append((key, fields or None, counts.get(key, 0) + 1))
        return entries


def entry_id_text(value: bytes | str) -> str:
    """A stream entry id as text (redis-py replies with bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
