"""Content dedupe markers in Redis (``stonks:dedupe:<namespace>:<hash>``, with a TTL).

The marker is a fast filter in front of the database; the unique constraint on
``documents.content_hash`` stays the final guard. A marker is only set after the row is
committed, so a crash between the two can cause a repeated insert attempt (which the
constraint absorbs), never a lost document.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from stonks import redis_keys


class DedupeMarkers:
    """Markers of content already stored, per namespace."""

    def __init__(self, client: redis.Redis, namespace: str, ttl_s: int) -> None:
        self._client = client
        self.namespace = namespace
        self.ttl_s = ttl_s

    def seen(self, hashes: list[str]) -> set[str]:
        """Which of ``hashes`` carry a marker."""
        if not hashes:
            return set()
        keys = [redis_keys.dedupe(self.namespace, h) for h in hashes]
        flags = self._client.mget(keys)
        return {h for h, flag in zip(hashes, flags, strict=True) if flag is not None}

    def mark(self, hashes: Iterable[str]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for content_hash in hashes:
            pipe.set(redis_keys.dedupe(self.namespace, content_hash), "1", ex=self.ttl_s)
        pipe.execute()
