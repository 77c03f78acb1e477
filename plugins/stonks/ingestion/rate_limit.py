"""A token bucket in Redis (``stonks:ratelimit:<api>``) shared by every caller of an API.

All workers, tasks and processes that call one provider draw from the same bucket, so the
provider's limit holds however many Airflow tasks run at once. The refill and the take are
one Lua script on the server's clock, so concurrent callers never overdraw.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from stonks import redis_keys
from stonks.errors import StonksError

logger = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: rate per second, capacity, tokens wanted.
# Returns 0 when taken, else the milliseconds until enough tokens will be there.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait_ms = 0
if tokens >= wanted then
  tokens = tokens - wanted
else
  wait_ms = math.ceil((wanted - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
return wait_ms
"""


class RateLimitTimeout(StonksError):
    """No token became free within the caller's deadline."""


class TokenBucket:
    """``rate`` requests per second with bursts up to ``capacity``, for one named API."""

    def __init__(
        self, client: redis.Redis, api: str, *, rate: float, capacity: float | None = None
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._client = client
        self.api = api
        self.key = redis_keys.rate_limit(api)
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._script: Any = client.register_script(_TAKE)

    def try_acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` if available; returns 0.0, or the seconds to wait before retrying."""
        wait_ms = int(self._script(keys=[self.key], args=[self.rate, self.capacity, tokens]))
        return wait_ms / 1000.0

    def acquire(self, tokens: float = 1.0, *, timeout_s: float = 120.0) -> None:
        """Block until ``tokens`` are taken; raise ``RateLimitTimeout`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            wait = self.try_acquire(tokens)
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise RateLimitTimeout(f"rate limit of {self.api!r} not free within {timeout_s}s")
            logger.debug("rate limited", extra={"api": self.api, "wait_s": wait})
            time.sleep(wait)
