"""The ingestion jobs the Airflow DAGs run: one source, one data interval, idempotent.

Each job fetches the whole window first (a source failure raises before anything is
stored), then writes payloads and rows, and records the window in ``ingestion_runs``. The
summary it returns is small enough for XCom.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.config import Settings, get_settings
from stonks.db import get_engine
from stonks.db.conflict import table_of
from stonks.ingestion.bars import write_bars
from stonks.ingestion.companies import seed_companies, tracked_companies
from stonks.ingestion.dedupe import DedupeMarkers
from stonks.ingestion.object_store import ObjectStore, object_store
from stonks.ingestion.store import begin_run, ensure_source, finish_run, store_documents
from stonks.models import CompanyAlias, IngestionStatus
from stonks.models.sources import SourceKind
from stonks.redis_client import connect
from stonks.sources import adapters
from stonks.sources.records import FetchedDocument

logger = logging.getLogger(__name__)


@dataclass
class JobContext:
    """The services one job run uses, built from settings."""

    settings: Settings
    engine: Engine
    redis: redis.Redis
    store: ObjectStore

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> JobContext:
        settings = settings or get_settings()
        return cls(
            settings=settings,
            engine=get_engine(settings.effective_database_url),
            redis=connect(settings=settings),
            store=object_store(settings),
        )


def ensure_universe(engine: Engine, settings: Settings) -> None:
    """Seed companies and aliases from the bundled universe when the table has no aliases."""
    with engine.connect() as conn:
        has_aliases = conn.execute(sa.select(sa.func.count()).select_from(
            table_of(CompanyAlias))).scalar_one() > 0
    if not has_aliases:
        count = seed_companies(engine, settings.tracked_tickers)
        logger.info("universe seeded", extra={"companies": count})


def sync_universe(settings: Settings | None = None) -> dict[str, int]:
    """Upsert companies, aliases and the tracked flags from the universe and settings."""
    context = JobContext.from_settings(settings)
    count = seed_companies(context.engine, context.settings.tracked_tickers)
    return {"companies": count, "tracked": len(tracked_companies(context.engine))}


def _document_job(
    context: JobContext,
    *,
    source_key: str,
    source_name: str,
    kind: SourceKind,
    start: datetime,
    end: datetime,
    dag_run_id: str | None,
    fetch: Callable[[], list[FetchedDocument]],
) -> dict[str, Any]:
    source_id = ensure_source(context.engine, key=source_key, name=source_name, kind=kind)
    run_id = begin_run(context.engine, source_id=source_id, start=start, end=end,
                       dag_run_id=dag_run_id)
    try:
        documents = fetch()
        markers = DedupeMarkers(context.redis, "document", context.settings.dedupe_ttl_s)
        stored, duplicate = store_documents(
            context.engine, context.store, markers, run_id=run_id, source_id=source_id,
            documents=documents,
        )
    except Exception as exc:
        finish_run(context.engine, run_id, status=IngestionStatus.FAILED,
                   error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finish_run(context.engine, run_id, status=IngestionStatus.SUCCEEDED,
               fetched=len(documents), stored=stored, duplicate=duplicate)
    summary = {"source": source_key, "run_id": run_id, "window_start": start.isoformat(),
               "window_end": end.isoformat(), "fetched": len(documents), "stored": stored,
               "duplicate": duplicate}
    logger.info("window ingested", extra=summary)
    return summary


def ingest_company_news(
    start: datetime, end: datetime, *, dag_run_id: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """News of every tracked ticker published in ``[start, end)``."""
    context = JobContext.from_settings(settings)
    ensure_universe(context.engine, context.settings)
    source = adapters.news_source(context.settings, context.redis)
    tickers = [ticker for ticker, _ in tracked_companies(context.engine)]

    def fetch() -> list[FetchedDocument]:
        return [d for ticker in tickers for d in source.news(ticker, start, end)]

    return _document_job(context, source_key=source.key, source_name=source.name,
                         kind=SourceKind.NEWS, start=start, end=end, dag_run_id=dag_run_id,
                         fetch=fetch)


def ingest_filings(
    start: datetime, end: datetime, *, dag_run_id: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """10-K/10-Q primary documents of every tracked company with a CIK, filed in the window."""
    context = JobContext.from_settings(settings)
    ensure_universe(context.engine, context.settings)
    source = adapters.filing_source(context.settings, context.redis)
    companies = tracked_companies(context.engine)
    missing = [ticker for ticker, cik in companies if not cik]
    if missing:
        logger.warning("tracked companies without CIK are skipped", extra={"tickers": missing})

    def fetch() -> list[FetchedDocument]:
        return [d for _, cik in companies if cik for d in source.filings(cik, start, end)]

    return _document_job(context, source_key=source.key, source_name=source.name,
                         kind=SourceKind.FILINGS, start=start, end=end, dag_run_id=dag_run_id,
                         fetch=fetch)


def ingest_macro_news(
    start: datetime, end: datetime, *, dag_run_id: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Macro and geopolitical feed entries published in ``[start, end)``."""
    context = JobContext.from_settings(settings)
    source = adapters.macro_source(context.settings, context.redis)
    return _document_job(context, source_key=source.key, source_name=source.name,
                         kind=SourceKind.MACRO, start=start, end=end, dag_run_id=dag_run_id,
                         fetch=lambda: source.documents(start, end))


def _days(start: datetime, end: datetime) -> list[date]:
    days, current = [], start
    while current < end:
        days.append(current.date())
        current += timedelta(days=1)
    return days


def ingest_market_bars(
    start: datetime, end: datetime, *, dag_run_id: str | None = None,
    settings: Settings | None = None, intraday: bool = True,
) -> dict[str, Any]:
    """Grouped daily bars for each day in the window, and intraday bars of tracked tickers."""
    context = JobContext.from_settings(settings)
    ensure_universe(context.engine, context.settings)
    source = adapters.bar_source(context.settings, context.redis)
    source_id = ensure_source(context.engine, key=source.key, name=source.name,
                              kind=SourceKind.MARKET_BARS)
    run_id = begin_run(context.engine, source_id=source_id, start=start, end=end,
                       dag_run_id=dag_run_id)
    minutes = context.settings.polygon_intraday_minutes
    try:
        daily = [bar for day in _days(start, end) for bar in source.grouped_daily(day)]
        intraday_bars = []
        if intraday:
            for ticker, _ in tracked_companies(context.engine):
                intraday_bars.extend(source.aggregates(ticker, minutes, "minute", start, end))
        written = write_bars(context.store, daily, timespan="day", source_key=source.key)
        written |= write_bars(context.store, intraday_bars, timespan=f"minute{minutes}",
                              source_key=source.key)
    except Exception as exc:
        finish_run(context.engine, run_id, status=IngestionStatus.FAILED,
                   error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    fetched = len(daily) + len(intraday_bars)
    finish_run(context.engine, run_id, status=IngestionStatus.SUCCEEDED, fetched=fetched,
               stored=fetched, details={"objects": written})
    summary = {"source": source.key, "run_id": run_id, "daily_bars": len(daily),
               "intraday_bars": len(intraday_bars), "objects": sorted(written)}
    logger.info("bars ingested", extra=summary)
    return summary
