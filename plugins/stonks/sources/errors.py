"""The exception tree of the source adapters; callers never see an ``httpx`` error."""

from __future__ import annotations

from stonks.errors import StonksError


class SourceError(StonksError):
    """A source could not deliver a window's data."""


class SourceUnavailable(SourceError):
    """The provider could not be reached or kept failing (timeouts, 5xx) past the retries."""


class SourceRateLimited(SourceUnavailable):
    """The provider kept answering 429 past the retries."""


class SourceResponseInvalid(SourceError):
    """The provider answered, but not with what it documents (bad JSON, wrong type, shape)."""


class SourceRequestRejected(SourceError):
    """The provider refused the request itself (4xx other than 429: bad key, bad params)."""


__all__ = [
    "SourceError",
    "SourceRateLimited",
    "SourceRequestRejected",
    "SourceResponseInvalid",
    "SourceUnavailable",
]
