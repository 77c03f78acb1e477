"""Queue depth, pending entries and consumers per group, for the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from stonks import redis_keys


@dataclass(frozen=True)
class GroupStats:
    name: str
    consumers: int
    pending: int
    lag: int | None


@dataclass(frozen=True)
class QueueStats:
    queue: str
    length: int
    dead_letters: int
    waiting_retry: int
    groups: list[GroupStats]


def queue_stats(client: redis.Redis, queues: list[str] | None = None) -> list[QueueStats]:
    """Stats for ``queues`` (default: every queue of the system)."""
    names = queues or [str(name) for name in redis_keys.QueueName]
    result = []
    for name in names:
        stream = redis_keys.queue(name)
        pipe = client.pipeline(transaction=False)
        pipe.exists(stream)
        pipe.xlen(stream)
        pipe.xlen(redis_keys.dlq(name))
        pipe.zcard(redis_keys.retry(name))
        exists, length, dead, waiting = pipe.execute()
        groups = []
        if exists:
            for info in client.xinfo_groups(stream):
                lag = info.get("lag")
                groups.append(
                    GroupStats(
                        name=_text(info["name"]),
                        consumers=int(info["consumers"]),
                        pending=int(info["pending"]),
                        lag=int(lag) if lag is not None else None,
                    )
                )
        result.append(QueueStats(name, int(length), int(dead), int(waiting), groups))
    return result


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
