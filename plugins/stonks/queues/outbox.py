"""Hand-offs that ride on the consumer's next round trip.

A stage's last step is usually to publish what it committed (the next stage's jobs, lake
facts). Inside a consumer's handler call those entries can wait for the pipeline the
consumer sends right after the handler returns: the one that acknowledges the batch and
reads the next. They go first in it, so Redis appends them before it applies the
acknowledgement; a process that dies before sending it has published nothing and
acknowledged nothing, and the redelivered batch publishes again (handlers are idempotent,
so downstream dedupes). That saves the stage a round trip of its own per batch. Other
writes that must follow the hand-offs (a dedupe marker saying they were made) ride the
same way, after them (``send``).

Outside a handler call (a periodic duty, another thread, a tool) ``publish`` and ``send``
send at once:
nothing would carry the entries otherwise. A handler that fails has its entries dropped,
as its batch is retried.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from stonks.queues.producer import Entry, xadd_all


@dataclass(frozen=True, slots=True)
class Command:
    """A Redis write other than an XADD to send with the hand-offs (e.g. a dedupe marker's
    ``SET key 1 EX ttl``), as its arguments."""

    args: tuple[str | int, ...]


class Outbox:
    """Stream entries (and other writes) a handler hands on, held for the consumer's next
    pipeline, in the order given."""

    def __init__(self) -> None:
        self._held: list[Entry | Command] = []
        self._collecting: int | None = None  # the thread inside the handler call

    @property
    def collecting(self) -> bool:
        """Whether the calling thread is inside the consumer's handler call."""
        return self._collecting == threading.get_ident()

    def publish(self, client: redis.Redis, entries: Iterable[Entry]) -> None:
        """XADD ``entries`` (stream, fields) in order: with the consumer's next pipeline
        when called from inside its handler, else now, in one round trip."""
        if self.collecting:
            self._held.extend(entries)
            return
        xadd_all(client, entries)

    def send(self, client: redis.Redis, commands: Iterable[Command]) -> None:
        """``commands`` after what was handed on before them: with the consumer's next
        pipeline when called from inside its handler, else now, in one round trip."""
        if self.collecting:
            self._held.extend(commands)
            return
        pipe = client.pipeline(transaction=False)
        if _queue(pipe, list(commands)):
            pipe.execute()

    # ---- the consumer's side ---------------------------------------------------------------

    def open(self) -> int:
        """The handler call starts on this thread; a mark to ``discard`` back to."""
        self._collecting = threading.get_ident()
        return len(self._held)

    def close(self) -> None:
        self._collecting = None

    def discard(self, mark: int) -> None:
        """Drop what was handed on since ``mark`` (the handler failed)."""
        del self._held[mark:]

    def queue_on(self, pipe: Any) -> int:
        """Queue what is held on ``pipe`` (and forget it); how many commands."""
        held, self._held = self._held, []
        return _queue(pipe, held)


def _queue(pipe: Any, held: list[Entry | Command]) -> int:
    for item in held:
        if isinstance(item, Command):
            pipe.execute_command(*item.args)
        else:
            pipe.xadd(item[0], item[1])
    return len(held)
