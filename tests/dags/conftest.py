"""Airflow for the DAG tests: a temporary AIRFLOW_HOME with a migrated SQLite metadata DB.

The environment is set when this module is imported, before anything imports airflow;
`airflow db migrate` runs once per session. Our own database and Redis come from the
shared fixtures and reach the tasks through STONKS_* variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="stonks-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
})


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """A migrated Airflow metadata database with the Stonks pools."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy(), timeout=300)
    from airflow import settings

    settings.configure_orm()
    from stonks_airflow.pools import ensure_pools

    ensure_pools()
    yield AIRFLOW_HOME


@pytest.fixture
def migrated_pg_url(pg_url: str) -> str:
    """A fresh PostgreSQL database with the schema at the newest migration."""
    from stonks.db.migrate import upgrade

    upgrade(pg_url)
    return pg_url


@pytest.fixture
def stonks_env(
    migrated_pg_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """STONKS_* variables pointing the tasks at a fresh PostgreSQL, Redis and lake."""
    from stonks.config import get_settings
    from stonks.db import dispose_engines

    values = {
        "STONKS_DATABASE_URL": migrated_pg_url,
        "STONKS_REDIS_URL": redis_url,
        "STONKS_LAKE_PATH": str(tmp_path / "lake"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("STONKS_POLYGON_API_KEY", "STONKS_SEC_USER_AGENT", "STONKS_MACRO_FEED_URLS"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()
    dispose_engines()
