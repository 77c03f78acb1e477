"""The dead-letter queue of a work queue: inspect what failed and why, and replay it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from stonks import redis_keys

ORIGINAL_PREFIX = b"orig:"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered entry: the reason and the original entry's fields."""

    dlq_id: str
    entry_id: str
    error: str
    deliveries: int
    failed_at: str
    original: dict[bytes, bytes]

    @property
    def body_preview(self) -> str:
        body = self.original.get(b"body", b"")
        text = body.decode("utf-8", "replace")
        return text if len(text) <= 120 else text[:117] + "..."


class DeadLetters:
    """Reads and replays ``stonks:dlq:<queue>``."""

    def __init__(self, client: redis.Redis, queue: str) -> None:
        self._client = client
        self.queue = queue
        self.stream = redis_keys.dlq(queue)
        self.queue_stream = redis_keys.queue(queue)

    def count(self) -> int:
        return int(self._client.xlen(self.stream))

    def oldest(self, limit: int = 50) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters."""
        entries: Any = self._client.xrange(self.stream, count=limit)
        return [_parse(entry_id, fields) for entry_id, fields in entries]

    def replay(self, dlq_ids: list[str] | None = None, *, limit: int = 1000) -> int:
        """Put dead letters back on their queue as new entries; returns how many moved.

        Each move is one MULTI transaction (XADD to the queue, XDEL from the DLQ), so an
        entry is never lost and never replayed twice by concurrent callers.
        """
        letters: list[DeadLetter] = []
        if dlq_ids is None:
            letters = self.oldest(limit)
        else:
            for dlq_id in dlq_ids:
                found: Any = self._client.xrange(self.stream, min=dlq_id, max=dlq_id)
                letters.extend(_parse(entry_id, fields) for entry_id, fields in found)
        moved = 0
        for letter in letters:
            moved += self._move_back(letter)
        return moved

    def _move_back(self, letter: DeadLetter) -> int:
        fields = dict(letter.original)
        fields[b"replayed_from"] = letter.dlq_id.encode()
        with self._client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(self.stream)  # type: ignore[no-untyped-call]
                if not pipe.xrange(self.stream, min=letter.dlq_id, max=letter.dlq_id):
                    return 0  # someone else replayed or purged it
                pipe.multi()
                pipe.xadd(self.queue_stream, fields)  # type: ignore[arg-type]
                pipe.xdel(self.stream, letter.dlq_id)
                pipe.execute()
            except redis.WatchError:
                return 0
        return 1

    def purge(self) -> int:
        """Drop every dead letter (after they were inspected and judged worthless)."""
        count = self.count()
        self._client.delete(self.stream)
        return count


def _parse(entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
    original = {
        key[len(ORIGINAL_PREFIX):]: value
        for key, value in fields.items()
        if key.startswith(ORIGINAL_PREFIX)
    }
    return DeadLetter(
        dlq_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        entry_id=fields.get(b"entry_id", b"").decode(),
        error=fields.get(b"error", b"").decode("utf-8", "replace"),
        deliveries=int(fields.get(b"deliveries", b"0")),
        failed_at=fields.get(b"failed_at", b"").decode(),
        original=original,
    )
