"""Redis connections with explicit timeouts, and a clear error when the server is not there."""

from __future__ import annotations

import redis

from stonks.config import Settings, get_settings
from stonks.errors import ServiceError

CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 10.0


def connect(
    url: str | None = None,
    *,
    settings: Settings | None = None,
    socket_timeout: float = SOCKET_TIMEOUT_S,
    check: bool = True,
) -> redis.Redis:
    """A client for ``url`` (default: the configured or embedded server).

    ``socket_timeout`` must exceed any blocking command's timeout (XREADGROUP BLOCK).
    With ``check`` the server is pinged once, so a server that is down fails here with a
    message saying what to do rather than deep inside a worker.
    """
    settings = settings or get_settings()
    target = url or settings.effective_redis_url
    client = redis.Redis.from_url(
        target,
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=30,
    )
    if check:
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            client.close()
            if url is None and settings.uses_embedded_redis:
                raise ServiceError(
                    "the embedded Redis is not running: start it with `stonks services up`"
                ) from exc
            raise ServiceError(f"cannot reach Redis at {redact_url(target)}: {exc}") from exc
    return client


def redact_url(url: str) -> str:
    """Any service URL without its credentials, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
