"""Hand-offs that ride on the consumer's next round trip.

A stage's last step is usually to publish what it committed (the next stage's jobs, lake
facts). Inside a consumer's handler call those entries can wait for the pipeline the
consumer sends right after the handler returns: the one that acknowledges the batch and
reads the next. They go first in it, so Redis appends them before it applies the
acknowledgement; a process that dies before sending it has published nothing and
acknowledged nothing, and the redelivered batch publishes again (handlers are idempotent,
so downstream dedupes). That saves the stage a round trip of its own per batch.

Outside a handler call (a periodic duty, another thread, a tool) ``publish`` sends at once:
nothing would carry the entries otherwise. A handler that fails has its entries dropped,
as its batch is retried.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import redis

from stonks.queues.producer import Entry, xadd_all


class Outbox:
    """Stream entries a handler publishes, held for the consumer's next pipeline."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._collecting: int | None = None  # the thread inside the handler call

    @property
    def collecting(self) -> bool:
        """Whether the calling thread is inside the consumer's handler call."""
        return self._collecting == threading.get_ident()

    def publish(self, client: redis.Redis, entries: Iterable[Entry]) -> None:
        """XADD ``entries`` (stream, fields) in order: with the consumer's next pipeline
        when called from inside its handler, else now, in one round trip."""
        if self.collecting:
            self._entries.extend(entries)
            return
        xadd_all(client, entries)

    # ---- the consumer's side ---------------------------------------------------------------

    def open(self) -> int:
        """The handler call starts on this thread; a mark to ``discard`` back to."""
        self._collecting = threading.get_ident()
        return len(self._entries)

    def close(self) -> None:
        self._collecting = None

    def discard(self, mark: int) -> None:
        """Drop what was published since ``mark`` (the handler failed)."""
        del self._entries[mark:]

    def queue_on(self, pipe: Any) -> int:
        """Queue the held entries on ``pipe`` (and forget them); how many."""
        entries, self._entries = self._entries, []
        for stream, fields in entries:
            pipe.xadd(stream, fields)
        return len(entries)

