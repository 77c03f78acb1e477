"""Putting messages on a queue: one at a time or pipelined in chunks."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from stonks import redis_keys
from stonks.queues.messages import QueueMessage

PIPELINE_CHUNK = 500


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
        ids: list[str] = []
        pipe = self._client.pipeline(transaction=False)
        pending = 0
        for message in messages:
            pipe.xadd(self.stream, message.to_fields())  # type: ignore[arg-type]
            pending += 1
            if pending == PIPELINE_CHUNK:
                ids.extend(_decode_ids(pipe.execute()))
                pending = 0
        if pending:
            ids.extend(_decode_ids(pipe.execute()))
        return ids


def _decode_ids(raw: list[bytes | str]) -> list[str]:
    return [value.decode() if isinstance(value, bytes) else value for value in raw]
