"""Fixtures for the ``stonks`` library tests: migrated databases and engines on them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from stonks.db.engine import create_engine_for
from stonks.db.migrate import upgrade


@pytest.fixture
def migrated_pg_url(pg_url: str) -> str:
    """A fresh PostgreSQL database with the schema at the newest migration."""
    upgrade(pg_url)
    return pg_url


@pytest.fixture
def migrated_sqlite_url(sqlite_url: str) -> str:
    """A fresh SQLite file with the schema at the newest migration."""
    upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture
def pg_engine(migrated_pg_url: str) -> Iterator[Engine]:
    """An engine on a migrated PostgreSQL database."""
    engine = create_engine_for(migrated_pg_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(migrated_sqlite_url: str) -> Iterator[Engine]:
    """An engine on a migrated SQLite database."""
    engine = create_engine_for(migrated_sqlite_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def db_engine(request: pytest.FixtureRequest) -> Engine:
    """An engine on a migrated database of each supported dialect."""
    fixture = "pg_engine" if request.param == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(fixture)
    return engine
