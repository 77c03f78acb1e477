"""The pipeline toggle: ``stonks:pipeline:enabled`` = "0" pauses every consumer and task."""

from __future__ import annotations

import redis

from stonks.redis_keys import PIPELINE_ENABLED


class PipelineToggle:
    """Reads and flips the global pipeline switch. A missing key means enabled."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def is_enabled(self) -> bool:
        return self.is_enabled_value(self._client.get(PIPELINE_ENABLED))

    @staticmethod
    def is_enabled_value(raw: object) -> bool:
        """Interpret the key's raw value (for callers that fetched it in a pipeline)."""
        return raw not in (b"0", "0")

    def enable(self) -> None:
        self._client.set(PIPELINE_ENABLED, "1")

    def disable(self) -> None:
        self._client.set(PIPELINE_ENABLED, "0")
