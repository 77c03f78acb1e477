"""Polygon.io live adapters: ticker news (``/v2/reference/news``) and aggregates (bars).

Shapes follow Polygon's public REST docs: news results with ``next_url`` cursor pagination;
``/v2/aggs/ticker/{T}/range/{m}/{span}/{from}/{to}`` and
``/v2/aggs/grouped/locale/us/market/stocks/{date}`` with ``results`` of ``o h l c v vw t n``.
A window is fetched completely (every page) before anything is returned, so a failure
half-way leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from stonks.models import DocumentKind
from stonks.sources.errors import SourceResponseInvalid
from stonks.sources.http import SourceHttpClient
from stonks.sources.records import Bar, FetchedDocument, canonical_json

logger = logging.getLogger(__name__)

NEWS_SOURCE_KEY = "polygon_news"
BARS_SOURCE_KEY = "polygon_bars"
MAX_PAGES = 200
_OK_STATUSES = {"OK", "DELAYED"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: Any, what: str) -> datetime:
    """An aware UTC datetime from Polygon's ISO-8601 ``...Z`` strings."""
    if not isinstance(value, str):
        raise SourceResponseInvalid(f"polygon: {what} is not a timestamp string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SourceResponseInvalid(f"polygon: {what} is not ISO-8601: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def news_document(article: Any, source_key: str = NEWS_SOURCE_KEY) -> FetchedDocument:
    """A ``FetchedDocument`` from one Polygon news result (the JSON object is the payload)."""
    if not isinstance(article, dict) or not article.get("id") or not article.get("title"):
        raise SourceResponseInvalid(f"polygon: news result without id/title: {article!r:.200}")
    publisher = article.get("publisher") or {}
    tickers = article.get("tickers") or []
    if not isinstance(tickers, list):
        raise SourceResponseInvalid("polygon: news result 'tickers' is not a list")
    return FetchedDocument(
        source_key=source_key,
        kind=DocumentKind.NEWS,
        external_id=str(article["id"]),
        published_at=parse_timestamp(article.get("published_utc"), "published_utc"),
        payload=canonical_json(article),
        content_type="application/json",
        url=article.get("article_url"),
        title=str(article["title"]),
        author=article.get("author"),
        tickers=tuple(str(t) for t in tickers),
        provider_data={
            "publisher": publisher.get("name") if isinstance(publisher, dict) else None,
            "tickers": [str(t) for t in tickers],
            "keywords": article.get("keywords") or [],
        },
    )


class PolygonClient:
    """Polygon REST calls over a configured ``SourceHttpClient`` (auth header set there)."""

    def __init__(self, http: SourceHttpClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    def _pages(self, url: str, params: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        page_params = params
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            body = self.http.get_json(next_url, page_params)
            if not isinstance(body, dict):
                raise SourceResponseInvalid("polygon: response is not a JSON object")
            status = body.get("status")
            if status not in _OK_STATUSES:
                raise SourceResponseInvalid(
                    f"polygon: status {status!r}: {body.get('error') or body.get('message')}"
                )
            yield body
            next_url = body.get("next_url")
            page_params = None  # the cursor URL carries every parameter
        raise SourceResponseInvalid(f"polygon: more than {MAX_PAGES} pages; refusing to loop")

    def news(self, ticker: str, start: datetime, end: datetime) -> list[FetchedDocument]:
        """Every article tagged ``ticker`` published in ``[start, end)``, all pages."""
        params = {
            "ticker": ticker,
            "published_utc.gte": _iso(start),
            "published_utc.lt": _iso(end),
            "order": "asc",
            "sort": "published_utc",
            "limit": 1000,
        }
        documents: list[FetchedDocument] = []
        for body in self._pages(f"{self.base_url}/v2/reference/news", params):
            results = body.get("results", [])
            if not isinstance(results, list):
                raise SourceResponseInvalid("polygon: news 'results' is not a list")
            documents.extend(news_document(article) for article in results)
        # The API filters by the window, but a cursor may overrun it; keep exactly the window.
        return [d for d in documents if start <= d.published_at < end]

    def aggregates(
        self, ticker: str, multiplier: int, timespan: str, start: datetime, end: datetime
    ) -> list[Bar]:
        """Bars of ``ticker`` starting in ``[start, end)``, all pages."""
        start_ms = int(start.timestamp() * 1000)
        end_ms = int(end.timestamp() * 1000) - 1
        url = (
            f"{self.base_url}/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/"
            f"{start_ms}/{end_ms}"
        )
        bars: list[Bar] = []
        params = {"adjusted": "true", "sort": "asc", "limit": 50000}
        for body in self._pages(url, params):
            bars.extend(_bar(ticker, row) for row in _results(body))
        return [b for b in bars if start <= b.start < end]

    def grouped_daily(self, day: date) -> list[Bar]:
        """Daily bars of every US stock for ``day`` (empty on market holidays)."""
        url = f"{self.base_url}/v2/aggs/grouped/locale/us/market/stocks/{day.isoformat()}"
        bars: list[Bar] = []
        for body in self._pages(url, {"adjusted": "true"}):
            for row in _results(body):
                ticker = row.get("T")
                if not isinstance(ticker, str) or not ticker:
                    raise SourceResponseInvalid("polygon: grouped bar without ticker 'T'")
                bars.append(_bar(ticker, row))
        return bars


def _results(body: dict[str, Any]) -> list[dict[str, Any]]:
    results = body.get("results", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise SourceResponseInvalid("polygon: aggregates 'results' is not a list of objects")
    return results


def _bar(ticker: str, row: dict[str, Any]) -> Bar:
    try:
        return Bar(
            ticker=ticker,
            start=datetime.fromtimestamp(int(row["t"]) / 1000, tz=UTC),
            open=float(row["o"]),
            high=float(row["h"]),
            low=float(row["l"]),
            close=float(row["c"]),
            volume=float(row["v"]),
            vwap=float(row["vw"]) if row.get("vw") is not None else None,
            transactions=int(row["n"]) if row.get("n") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceResponseInvalid(f"polygon: malformed bar for {ticker}: {row!r:.200}") from exc
