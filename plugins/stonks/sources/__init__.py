"""Source adapters: Polygon news and bars, SEC EDGAR, macro feeds; live and sample.

Live adapters speak each provider's documented HTTP API through ``SourceHttpClient``
(timeouts, shared rate limit, retries); sample adapters replay bundled data through the same
parsers. Errors are one tree rooted at ``SourceError``.
"""

from stonks.sources.errors import (
    SourceError,
    SourceRateLimited,
    SourceRequestRejected,
    SourceResponseInvalid,
    SourceUnavailable,
)
from stonks.sources.records import Bar, FetchedDocument

__all__ = [
    "Bar",
    "FetchedDocument",
    "SourceError",
    "SourceRateLimited",
    "SourceRequestRejected",
    "SourceResponseInvalid",
    "SourceUnavailable",
]
