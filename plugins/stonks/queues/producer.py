"""Putting messages on a queue: one at a time or pipelined in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import redis

from stonks import redis_keys
from stonks.queues.messages import QueueMessage

PIPELINE_CHUNK = 500

#: A stream entry to append: the stream's key and the entry's fields.
Entry = tuple[str, Mapping[str, str]]


class Producer:
    """Appends messages to ``stonks:queue:<name>``; returns the stream entry ids."""

    def __init__(self, client: redis.Redis, queue: str) -> None:
        self._client = client
        self.queue = queue
        self.stream = redis_keys.queue(queue)

    def publish(self, message: QueueMessage) -> str:
        entry_id = self._client.xadd(self.stream, message.to_fields())  # type: ignore[arg-type]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def publish_many(self, messages: Iterable[QueueMessage]) -> list[str]:
        """Publish in pipelined chunks (one round trip per chunk, not per message)."""
        return xadd_all(self._client, ((self.stream, m.to_fields()) for m in messages))


def xadd_all(client: redis.Redis, entries: Iterable[Entry]) -> list[str]:
    """XADD ``entries`` in order, pipelined in chunks of ``PIPELINE_CHUNK`` (one round trip
    per chunk, none when there are none); their entry ids."""
    ids: list[str] = []
    pipe = client.pipeline(transaction=False)
    pending = 0
    for stream, fields in entries:
        pipe.xadd(stream, fields)  # type: ignore[arg-type]
        pending += 1
        if pending == PIPELINE_CHUNK:
            ids.extend(_decode_ids(pipe.execute()))
            pending = 0
    if pending:
        ids.extend(_decode_ids(pipe.execute()))
    return ids


def _decode_ids(raw: list[bytes | str]) -> list[str]:
    return [value.decode() if isinstance(value, bytes) else value for value in raw]
