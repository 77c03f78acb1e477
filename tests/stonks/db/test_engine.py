"""Engines are configured for their dialect and fail with clear, password-free errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from stonks.db import (
    check_connection,
    create_engine_for,
    dispose_engines,
    get_engine,
    session_scope,
)
from stonks.errors import ConfigurationError, ServiceError
from stonks.models import Company


def test_sqlite_engine_creates_the_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "stonks.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert path.is_file()
    assert pragma == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30_000}


def test_postgresql_engine_pings_pooled_connections(pg_url: str) -> None:
    engine = create_engine_for(pg_url)
    try:
        assert engine.pool._pre_ping
        check_connection(engine)
    finally:
        engine.dispose()


def test_unreachable_postgresql_raises_service_error_with_password_hidden() -> None:
    engine = create_engine_for("postgresql+psycopg2://trader:s3cret-pw@127.0.0.1:1/stonks")
    with pytest.raises(ServiceError, match=r"cannot connect to database") as raised:
        check_connection(engine)
    assert "s3cret-pw" not in str(raised.value)
    assert "127.0.0.1:1" in str(raised.value)


def test_unknown_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="mysql"):
        create_engine_for("mysql+nodriver://u:p@localhost/db")


def test_session_scope_commits_on_success_and_rolls_back_on_error(
    sqlite_engine: Engine,
) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(Company(ticker="MSFT", name="Microsoft"))
    with pytest.raises(RuntimeError), session_scope(sqlite_engine) as session:
        session.add(Company(ticker="IBM", name="IBM"))
        session.flush()
        raise RuntimeError("handler failed after the flush")
    with Session(sqlite_engine) as session:
        assert [c.ticker for c in session.exec(select(Company))] == ["MSFT"]


def test_updated_at_moves_when_a_row_changes(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        company = Company(ticker="MSFT", name="Microsoft")
        session.add(company)
        session.flush()
        first = company.updated_at
        company.tracked = True
        session.flush()
        session.refresh(company)
        assert company.updated_at > first
        assert company.created_at <= first


def test_get_engine_reuses_one_engine_per_url(sqlite_url: str) -> None:
    try:
        assert get_engine(sqlite_url) is get_engine(sqlite_url)
        with get_engine(sqlite_url).connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        dispose_engines()
