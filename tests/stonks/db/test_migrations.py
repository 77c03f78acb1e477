"""The Alembic migrations create exactly the schema the models describe, and revert cleanly."""

from __future__ import annotations

import pprint
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from stonks.db.engine import create_engine_for
from stonks.db.migrate import (
    MIGRATIONS_DIR_ENV,
    MigrationError,
    alembic_config,
    current,
    downgrade,
    head,
    is_up_to_date,
    upgrade,
)
from stonks.errors import ConfigurationError, ServiceError
from stonks.models import metadata

EXPECTED_TABLES = {
    "documents",
    "document_intelligence",
    "document_impact_records",
    "document_company_mentions",
    "global_events",
    "macro_impact_records",
    "exposure_profiles",
    "competitive_signal_records",
    "competitor_relationships",
    "trend_windows",
    "trend_history",
    "trend_projections",
    "recommendations",
    "recommendation_evidence",
    "risk_evaluations",
    "orders",
    "order_events",
    "positions",
    "portfolio_snapshots",
    "trading_decisions",
    "circuit_breaker_events",
    "reserve_pool_ledger",
    "risk_tier_history",
    "broker_accounts",
    "ingestion_runs",
    "sources",
    "companies",
    "company_aliases",
    "ai_agents",
    "agent_variants",
    "agent_performance_log",
    "risk_configs",
    "trading_reports",
    "signal_engine_outputs",
}


def _tables(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_models_declare_all_34_tables() -> None:
    assert set(metadata.tables) == EXPECTED_TABLES
    assert len(EXPECTED_TABLES) == 34


def test_autogenerate_finds_no_difference_on_postgresql(pg_url: str) -> None:
    upgrade(pg_url)
    engine = create_engine_for(pg_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "target_metadata": metadata}
            )
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == [], pprint.pformat(diff)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_upgrade_downgrade_upgrade_round_trips(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue("pg_url" if dialect == "postgresql" else "sqlite_url")
    assert current(url) is None

    upgrade(url)
    assert _tables(url) == EXPECTED_TABLES
    assert current(url) == head()

    downgrade(url, "base")
    assert _tables(url) == set()
    assert current(url) is None

    upgrade(url)
    assert _tables(url) == EXPECTED_TABLES
    assert is_up_to_date(url)


def test_upgrade_is_a_no_op_when_already_at_head(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    upgrade(sqlite_url)
    assert current(sqlite_url) == head()


def test_upgrade_to_unknown_revision_raises_migration_error(sqlite_url: str) -> None:
    with pytest.raises(MigrationError, match="nope"):
        upgrade(sqlite_url, "nope")


def test_unreachable_database_raises_service_error_without_password() -> None:
    url = "postgresql+psycopg2://trader:s3cret-pw@127.0.0.1:1/stonks"
    with pytest.raises(ServiceError) as raised:
        upgrade(url)
    message = str(raised.value)
    assert "cannot connect to database" in message
    assert "s3cret-pw" not in message
    assert "***" in message


def test_missing_migrations_dir_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv(MIGRATIONS_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match=MIGRATIONS_DIR_ENV):
        upgrade(sqlite_url)


def test_default_url_is_embedded_sqlite_under_stonks_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stonks.config import get_settings

    home = tmp_path / "state" / ".stonks"
    monkeypatch.setenv("STONKS_HOME", str(home))
    monkeypatch.delenv("STONKS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        upgrade()
        assert (home / "stonks.db").is_file()
        assert current() == head()
    finally:
        get_settings.cache_clear()


def test_percent_encoded_password_survives_the_alembic_config() -> None:
    url = "postgresql+psycopg2://trader:p%40ss%25word@db.example:5432/stonks"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url
