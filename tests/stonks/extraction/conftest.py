"""Fixtures for the signal-stage tests: a fake LLM server and parsed documents to work on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.config import Settings, load_settings
from stonks.db import dispose_engines, get_engine
from stonks.ingestion.companies import seed_companies
from stonks.ingestion.store import ensure_source
from stonks.models import DocumentCompanyMention
from stonks.models.sources import SourceKind
from stonks.models.types import utcnow
from stonks.parsing.leases import DOCUMENTS
from tests.stonks.extraction.llm_server import FakeLLMServer, serve

MENTIONS = sa.inspect(DocumentCompanyMention).local_table
DocumentSpec = tuple[str, str, str, list[str], datetime]  # route, title, text, tickers, time


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    yield from serve()


@pytest.fixture
def stage_settings(migrated_sqlite_url: str, redis_url: str) -> Iterator[Callable[..., Settings]]:
    """Settings for the stage on a fresh SQLite database and Redis, with overrides."""

    def make(**overrides: Any) -> Settings:
        return load_settings(database_url=migrated_sqlite_url, redis_url=redis_url,
                             **overrides)

    seed_companies(get_engine(migrated_sqlite_url), load_settings().tracked_tickers)
    yield make
    dispose_engines()


def add_parsed_documents(engine: Engine, specs: list[DocumentSpec]) -> list[int]:
    """Insert documents as parsing leaves them (parsed, routed, mentions found)."""
    source_id = ensure_source(engine, key="test_news", name="Test news", kind=SourceKind.NEWS)
    now = utcnow()
    ids = []
    with engine.begin() as conn:
        companies = {t: i for t, i in conn.execute(sa.text("SELECT ticker, id FROM companies"))}
        names = {t: n for t, n in conn.execute(sa.text("SELECT ticker, name FROM companies"))}
        for n, (route, title, text, tickers, published) in enumerate(specs):
            doc_id = conn.execute(sa.insert(DOCUMENTS).values(
                source_id=source_id, kind="macro" if route == "macro" else "news", title=title,
                published_at=published, content_hash=f"{n:064x}", provider_data={},
                status="parsed", route=route, text=f"{title}\n\n{text}", attempts=1,
                processed_at=now, parsed_at=now, created_at=now, updated_at=now,
            ).returning(DOCUMENTS.c.id)).scalar_one()
            for index, ticker in enumerate(tickers):
                conn.execute(sa.insert(MENTIONS).values(
                    document_id=doc_id, company_id=companies[ticker], ticker=ticker,
                    mention_count=1, matched_aliases=[ticker, names[ticker].split(" ")[0]],
                    confidence=1.0, is_primary=index == 0, published_at=published,
                    created_at=now))
            ids.append(int(doc_id))
    return ids


@pytest.fixture
def parsed_documents() -> Callable[[Engine, list[DocumentSpec]], list[int]]:
    return add_parsed_documents
