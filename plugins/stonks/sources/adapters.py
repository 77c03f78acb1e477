"""Which adapter serves each source: live when configured in settings, sample otherwise.

Live adapters share one Redis token bucket per API (``stonks:ratelimit:polygon``,
``…:sec_edgar``, ``…:macro_feeds``) so every task and worker together stay under the
provider's limit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

import redis

from stonks.config import Settings
from stonks.ingestion.rate_limit import TokenBucket
from stonks.sources.edgar import SOURCE_KEY as EDGAR_KEY
from stonks.sources.edgar import EdgarClient
from stonks.sources.http import RetryPolicy, SourceHttpClient
from stonks.sources.macro_feeds import SOURCE_KEY as MACRO_KEY
from stonks.sources.macro_feeds import MacroFeedClient
from stonks.sources.polygon import BARS_SOURCE_KEY, NEWS_SOURCE_KEY, PolygonClient
from stonks.sources.records import Bar, FetchedDocument
from stonks.sources.sample import (
    SampleBarSource,
    SampleFilingSource,
    SampleMacroSource,
    SampleNewsSource,
)


class NewsSource(Protocol):
    """Company news by ticker and window."""

    key: str
    name: str

    def news(self, ticker: str, start: datetime, end: datetime) -> list[FetchedDocument]: ...


class FilingSource(Protocol):
    """Periodic reports by CIK and window."""

    key: str
    name: str

    def filings(self, cik: str, start: datetime, end: datetime) -> list[FetchedDocument]: ...


class MacroSource(Protocol):
    """Macro and geopolitical feed entries by window."""

    key: str
    name: str

    def documents(self, start: datetime, end: datetime) -> list[FetchedDocument]: ...


class BarSource(Protocol):
    """Market bars: grouped daily and per-ticker aggregates."""

    key: str
    name: str

    def grouped_daily(self, day: date) -> list[Bar]: ...

    def aggregates(
        self, ticker: str, multiplier: int, timespan: str, start: datetime, end: datetime
    ) -> list[Bar]: ...


def _http(settings: Settings, provider: str, headers: dict[str, str],
          limiter: TokenBucket) -> SourceHttpClient:
    return SourceHttpClient(
        provider,
        headers=headers,
        connect_timeout_s=settings.http_connect_timeout_s,
        read_timeout_s=settings.http_read_timeout_s,
        retry=RetryPolicy(settings.http_max_attempts, settings.http_backoff_base_s,
                          settings.http_backoff_max_s),
        limiter=limiter,
    )


class _LivePolygon:
    def __init__(self, settings: Settings, client: redis.Redis, key: str, name: str) -> None:
        assert settings.polygon_api_key is not None
        secret = settings.polygon_api_key.get_secret_value()
        limiter = TokenBucket(client, "polygon", rate=settings.polygon_requests_per_s)
        http = _http(settings, "polygon", {"Authorization": f"Bearer {secret}"}, limiter)
        self.client = PolygonClient(http, settings.polygon_base_url)
        self.key = key
        self.name = name


class LivePolygonNews(_LivePolygon):
    """Polygon ticker news over HTTPS."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        super().__init__(settings, client, NEWS_SOURCE_KEY, "Polygon ticker news")

    def news(self, ticker: str, start: datetime, end: datetime) -> list[FetchedDocument]:
        return self.client.news(ticker, start, end)


class LivePolygonBars(_LivePolygon):
    """Polygon aggregates over HTTPS."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        super().__init__(settings, client, BARS_SOURCE_KEY, "Polygon aggregates")

    def grouped_daily(self, day: date) -> list[Bar]:
        return self.client.grouped_daily(day)

    def aggregates(
        self, ticker: str, multiplier: int, timespan: str, start: datetime, end: datetime
    ) -> list[Bar]:
        return self.client.aggregates(ticker, multiplier, timespan, start, end)


class LiveEdgar:
    """SEC EDGAR over HTTPS with the required User-Agent and ≤ 10 requests/s."""

    key = EDGAR_KEY
    name = "SEC EDGAR filings"

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        assert settings.sec_user_agent is not None
        limiter = TokenBucket(client, "sec_edgar", rate=settings.sec_requests_per_s)
        http = _http(settings, "sec_edgar", {"User-Agent": settings.sec_user_agent,
                                             "Accept-Encoding": "gzip, deflate"}, limiter)
        self.client = EdgarClient(http, settings.sec_base_url, settings.sec_archives_url)

    def filings(self, cik: str, start: datetime, end: datetime) -> list[FetchedDocument]:
        return self.client.filings(cik, start, end)


class LiveMacroFeeds:
    """Configured RSS/Atom/JSON feeds over HTTP(S)."""

    key = MACRO_KEY
    name = "Macro and geopolitical feeds"

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        limiter = TokenBucket(client, "macro_feeds", rate=settings.macro_requests_per_s)
        http = _http(settings, "macro_feeds", {"User-Agent": "stonks-oracle/0.1"}, limiter)
        self.client = MacroFeedClient(http, list(settings.macro_feed_urls))

    def documents(self, start: datetime, end: datetime) -> list[FetchedDocument]:
        return self.client.documents(start, end)


def news_source(settings: Settings, client: redis.Redis) -> NewsSource:
    """Polygon news when ``STONKS_POLYGON_API_KEY`` is set, else the sample news."""
    if settings.polygon_api_key is not None:
        return LivePolygonNews(settings, client)
    return SampleNewsSource()


def bar_source(settings: Settings, client: redis.Redis) -> BarSource:
    """Polygon aggregates when ``STONKS_POLYGON_API_KEY`` is set, else the bundled bars."""
    if settings.polygon_api_key is not None:
        return LivePolygonBars(settings, client)
    return SampleBarSource()


def filing_source(settings: Settings, client: redis.Redis) -> FilingSource:
    """EDGAR when ``STONKS_SEC_USER_AGENT`` is set, else the sample filings."""
    if settings.sec_user_agent:
        return LiveEdgar(settings, client)
    return SampleFilingSource()


def macro_source(settings: Settings, client: redis.Redis) -> MacroSource:
    """The feeds of ``STONKS_MACRO_FEED_URLS`` when set, else the sample feeds."""
    if settings.macro_feed_urls:
        return LiveMacroFeeds(settings, client)
    return SampleMacroSource()
