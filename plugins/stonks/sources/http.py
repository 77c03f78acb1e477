"""HTTP for source adapters: explicit timeouts, shared rate limit, retries with backoff.

Every live adapter goes through :class:`SourceHttpClient`. It maps ``httpx`` errors to the
``SourceError`` tree, retries timeouts, connection errors, 429 and 5xx with exponential
backoff and full jitter (honouring ``Retry-After``), and checks that a body is what was
asked for: a truncated or non-JSON body raises ``SourceResponseInvalid``, never becomes an
empty result.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from stonks.sources.errors import (
    SourceRateLimited,
    SourceRequestRejected,
    SourceResponseInvalid,
    SourceUnavailable,
)

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class RateLimiter(Protocol):
    """Anything that blocks until one more request may be sent."""

    def acquire(self, tokens: float = 1.0, *, timeout_s: float = 120.0) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried."""

    max_attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (full jitter; Retry-After wins)."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class SourceHttpClient:
    """GETs against one provider with timeouts, a shared rate limit and retries."""

    def __init__(
        self,
        provider: str,
        *,
        headers: Mapping[str, str] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 20.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self._limiter = limiter
        self._sleep = sleep
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._client = httpx.Client(
            headers=dict(headers or {}), timeout=timeout, follow_redirects=True
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SourceHttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON body of ``url``; anything else raises ``SourceResponseInvalid``."""
        response = self._get(url, params)
        content_type = response.headers.get("content-type", "")
        if "json" not in content_type:
            raise SourceResponseInvalid(
                f"{self.provider}: expected JSON from {_path(url)}, got content type "
                f"{content_type or 'none'!r}"
            )
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceResponseInvalid(
                f"{self.provider}: malformed or truncated JSON from {_path(url)}: {exc}"
            ) from exc

    def get_bytes(
        self, url: str, *, expect: tuple[str, ...], params: Mapping[str, Any] | None = None
    ) -> tuple[bytes, str]:
        """The body and content type of ``url``, which must contain one of ``expect``."""
        response = self._get(url, params)
        content_type = response.headers.get("content-type", "")
        if not any(kind in content_type for kind in expect):
            raise SourceResponseInvalid(
                f"{self.provider}: expected {'/'.join(expect)} from {_path(url)}, got "
                f"content type {content_type or 'none'!r}"
            )
        return response.content, content_type.split(";")[0].strip()

    def _get(self, url: str, params: Mapping[str, Any] | None) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                self._limiter.acquire()
            retry_after: float | None = None
            try:
                response = self._client.get(url, params=params)
                # Read the whole body inside the try: a connection cut mid-body is retried.
                response.read()
            except httpx.TimeoutException as exc:
                failure: Exception = SourceUnavailable(
                    f"{self.provider}: timeout on {_path(url)} after {attempt} attempt(s)"
                )
                cause: BaseException = exc
            except httpx.TransportError as exc:
                failure = SourceUnavailable(
                    f"{self.provider}: cannot reach {_path(url)} after {attempt} attempt(s): "
                    f"{type(exc).__name__}"
                )
                cause = exc
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status not in RETRYABLE_STATUS:
                    raise SourceRequestRejected(
                        f"{self.provider}: HTTP {status} on {_path(url)}: "
                        f"{response.text[:200]!r}"
                    )
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                kind = SourceRateLimited if status == 429 else SourceUnavailable
                failure = kind(
                    f"{self.provider}: HTTP {status} on {_path(url)} after {attempt} attempt(s)"
                )
                cause = failure
            if attempt >= self.retry.max_attempts:
                raise failure from (None if cause is failure else cause)
            delay = self.retry.delay(attempt, retry_after)
            logger.warning(
                "source request failed, retrying",
                extra={"provider": self.provider, "attempt": attempt, "delay_s": round(delay, 3),
                       "error": str(failure)},
            )
            self._sleep(delay)


def _path(url: str) -> str:
    # Never log query strings: they may carry an API key.
    return httpx.URL(url).copy_with(query=None).path
