"""Distributed locks on Redis: SET NX PX with a random token, released only by the owner."""

from __future__ import annotations

import secrets
import time
from types import TracebackType

import redis

from stonks import redis_keys
from stonks.errors import LockLost, LockNotAcquired

# Delete or extend only if the token still matches: an expired lock re-acquired by someone
# else must not be released or prolonged by its former owner.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class DistributedLock:
    """A named lock with an expiry; use as a context manager or call acquire/release."""

    def __init__(
        self, client: redis.Redis, name: str, *, ttl_s: float = 30.0, wait_s: float = 10.0
    ) -> None:
        """``ttl_s``: expiry of a held lock; ``wait_s``: how long ``with`` waits to acquire."""
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.wait_s = wait_s
        self._client = client
        self.name = name
        self.key = redis_keys.lock(name)
        self.ttl_ms = int(ttl_s * 1000)
        self._token: str | None = None
        self._release = client.register_script(_RELEASE)
        self._extend = client.register_script(_EXTEND)

    @property
    def held(self) -> bool:
        return self._token is not None

    def acquire(self, *, blocking: bool = True, timeout_s: float = 10.0) -> bool:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + timeout_s
        delay = 0.005
        while True:
            if self._client.set(self.key, token, nx=True, px=self.ttl_ms):
                self._token = token
                return True
            if not blocking or time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def release(self) -> None:
        """Release the lock; raises LockLost if it had expired and another owner holds it."""
        token, self._token = self._token, None
        if token is None:
            return
        if not self._release(keys=[self.key], args=[token]):
            raise LockLost(f"lock {self.name!r} expired before it was released")

    def extend(self, ttl_s: float | None = None) -> None:
        """Reset the expiry; raises LockLost if the lock is no longer ours."""
        if self._token is None:
            raise LockLost(f"lock {self.name!r} is not held")
        ttl_ms = int(ttl_s * 1000) if ttl_s else self.ttl_ms
        if not self._extend(keys=[self.key], args=[self._token, ttl_ms]):
            self._token = None
            raise LockLost(f"lock {self.name!r} expired before it was extended")

    def __enter__(self) -> DistributedLock:
        if not self.acquire(timeout_s=self.wait_s):
            raise LockNotAcquired(
                f"lock {self.name!r} is held by another owner (waited {self.wait_s:g}s)"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
