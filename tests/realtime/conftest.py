"""Fixtures for the real-time tier: a migrated PostgreSQL, settings, seeded companies/signals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime import prepared
from realtime.replay import buy_candidates, session_moments
from realtime.sql import table_of
from stonks.config import Settings, load_settings
from stonks.db.engine import create_engine_for
from stonks.db.migrate import upgrade
from stonks.models import Company, DocumentImpactRecord
from stonks.models.documents import Document
from stonks.models.sources import Source
from stonks.universe import load_universe

#: A session day (10:30 New York) for tests that need no particular verdict.
TRADE_DAY = datetime(2010, 7, 27, 14, 30, tzinfo=UTC)
TRACKED = ("AAPL", "AMZN", "GE", "GOOG", "IBM", "JNJ", "JPM", "MSFT", "WMT", "XOM")


@pytest.fixture(scope="session")
def buy_case() -> tuple[datetime, str]:
    """A (moment, ticker) the signal engine rates BUY given known inputs and a bullish macro
    layer; looked up because the engine's tuning may change."""
    found = buy_candidates(TRACKED, session_moments(date(2010, 8, 20), 120), macro_bias=1.0)
    if not found:
        pytest.fail("the signal engine rates no tracked ticker BUY in the sample window")
    moment, tickers = found[0]
    return moment, tickers[0]


@pytest.fixture
def migrated_pg_url(pg_url: str) -> str:
    upgrade(pg_url)
    return pg_url


@contextmanager
def seeded_engine(url: str, tickers: tuple[str, ...] = TRACKED,
                  **engine_options: Any) -> Iterator[Engine]:
    """An engine on the migrated database ``url`` with ``tickers`` seeded; disposed after."""
    upgrade(url)
    engine = create_engine_for(url, **engine_options)
    seed_companies(engine, tickers)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db(pg_url: str) -> Iterator[Engine]:
    with seeded_engine(pg_url) as engine:
        yield engine


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite database with the tracked companies, for the portable path."""
    with seeded_engine(sqlite_url) as engine:
        yield engine


@pytest.fixture(params=["postgresql", "sqlite"])
def each_dialect_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL, once per supported dialect."""
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql"
                                       else "sqlite_url"))


def realtime_env(database_url: str, redis_url: str, **extra: Any) -> dict[str, str]:
    """STONKS_* variables for worker and API subprocesses."""
    env = {"STONKS_DATABASE_URL": database_url, "STONKS_REDIS_URL": redis_url,
           "STONKS_QUEUE_BLOCK_MS": "200", "STONKS_TRADING_WATERMARK_POLL_S": "0.5",
           "STONKS_BROKER_POLL_INTERVAL_S": "0.5"}
    env.update({f"STONKS_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def make_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    return load_settings(database_url=database_url, redis_url=redis_url, queue_block_ms=50,
                         **overrides)


@pytest.fixture
def settings(migrated_pg_url: str, redis_url: str) -> Settings:
    return make_settings(migrated_pg_url, redis_url)


@pytest.fixture
def client(redis_client: redis.Redis) -> redis.Redis:
    return redis_client


def seed_companies(engine: Engine, tickers: tuple[str, ...]) -> dict[str, int]:
    sectors = {c.ticker: c for c in load_universe()}
    table = table_of(Company)
    with engine.begin() as conn:
        for ticker in tickers:
            info = sectors[ticker]
            conn.execute(sa.insert(table).values(ticker=ticker, name=info.name,
                                                 sector=info.sector, tracked=True))
        return {t: int(i) for t, i in conn.execute(sa.select(table.c.ticker, table.c.id))}


def insert_news_signal(engine: Engine, ticker: str, published_at: datetime, *,
                       direction: str = "bullish", magnitude: float = 0.8,
                       confidence: float = 0.9) -> int:
    """A company-layer impact record (with its source and document), as issue 6 would store."""
    with engine.begin() as conn:
        src = table_of(Source)
        source_id = conn.execute(sa.select(src.c.id).where(src.c.key == "test_news")).scalar()
        if source_id is None:
            source_id = conn.execute(sa.insert(src).values(
                key="test_news", name="test news", kind="news").returning(src.c.id)).scalar_one()
        digest = hashlib.sha256(f"{ticker}{published_at}{direction}".encode()).hexdigest()
        doc_id = conn.execute(sa.insert(table_of(Document)).values(
            source_id=source_id, kind="news", title=f"{ticker} news", published_at=published_at,
            content_hash=digest).returning(table_of(Document).c.id)).scalar_one()
        company_id = conn.execute(sa.select(table_of(Company).c.id).where(
            table_of(Company).c.ticker == ticker)).scalar_one()
        return int(conn.execute(sa.insert(table_of(DocumentImpactRecord)).values(
            document_id=doc_id, company_id=company_id, ticker=ticker, direction=direction,
            magnitude=magnitude, confidence=confidence, horizon="short",
            published_at=published_at, model_name="lexicon-v1",
        ).returning(table_of(DocumentImpactRecord).c.id)).scalar_one())


def recent(moment: datetime, hours: float) -> datetime:
    return moment - timedelta(hours=hours)


def insert_macro_signal(engine: Engine, ticker: str, published_at: datetime, *,
                        direction: str = "bullish", magnitude: float = 0.5,
                        confidence: float = 0.8) -> int:
    """A macro-layer impact record with its global event."""
    from stonks.models.macro import GlobalEvent, MacroImpactRecord

    with engine.begin() as conn:
        event_id = conn.execute(sa.insert(table_of(GlobalEvent)).values(
            event_type="monetary_policy", title="rates on hold", direction=direction,
            severity=magnitude, confidence=confidence, occurred_at=published_at,
            published_at=published_at, affected_sectors=[], affected_commodities=[],
            affected_regions=[], output={}, region="global", model_name="lexicon-v1",
        ).returning(table_of(GlobalEvent).c.id)).scalar_one()
        company_id = conn.execute(sa.select(table_of(Company).c.id).where(
            table_of(Company).c.ticker == ticker)).scalar_one()
        return int(conn.execute(sa.insert(table_of(MacroImpactRecord)).values(
            event_id=event_id, company_id=company_id, ticker=ticker, direction=direction,
            magnitude=magnitude, confidence=confidence, horizon="medium",
            published_at=published_at, exposure_score=0.5, components={},
        ).returning(table_of(MacroImpactRecord).c.id)).scalar_one())


@contextmanager
def alpaca_service(db: Engine, client: redis.Redis, settings: Settings) -> Iterator[Any]:
    """A BrokerService on alpaca-py for ``settings``, reconciled with the (local) server."""
    from realtime.broker import BrokerService, ensure_account, reconcile
    from realtime.broker.alpaca import AlpacaBroker

    broker = AlpacaBroker.from_settings(settings)
    account_id = ensure_account(db, settings, broker)
    assert reconcile(db, broker, account_id).status.value == "reconciled"
    try:
        yield BrokerService(db, client, settings, broker, account_id, "alpaca-paper")
    finally:
        broker.close()


@pytest.fixture(autouse=True)
def _plans_kept_through_a_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that count statements must not see the periodic re-planning of a slow run."""
    monkeypatch.setattr(prepared, "REPLAN_INTERVAL_S", 3600.0)
