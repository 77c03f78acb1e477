from __future__ import annotations

from pathlib import Path

import pytest

from stonks.config import Mode, load_settings
from stonks.errors import ConfigurationError

PRODUCTION = {
    "STONKS_MODE": "production",
    "STONKS_DATABASE_URL": "postgresql://stonks:hunter2@db.internal:5432/stonks",
    "STONKS_REDIS_URL": "redis://cache.internal:6379/0",
    "STONKS_OBJECT_STORE_ENDPOINT_URL": "http://minio.internal:9000",
    "STONKS_OBJECT_STORE_BUCKET": "stonks-lake",
    "STONKS_OBJECT_STORE_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "STONKS_OBJECT_STORE_SECRET_ACCESS_KEY": "s3cr3t-value",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("STONKS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_nothing_configured_means_embedded_files_under_dot_stonks(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.mode is Mode.EMBEDDED
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/.stonks/stonks.db"
    assert settings.effective_redis_url == f"unix://{tmp_path}/.stonks/redis/redis.sock?db=0"
    assert settings.uses_embedded_redis
    assert settings.effective_lake_path == tmp_path / ".stonks" / "lake"


def test_production_settings_are_read_and_secrets_stay_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.mode is Mode.PRODUCTION
    assert settings.effective_database_url == PRODUCTION["STONKS_DATABASE_URL"]
    assert "s3cr3t-value" not in repr(settings)


@pytest.mark.parametrize(
    "missing",
    ["STONKS_DATABASE_URL", "STONKS_REDIS_URL", "STONKS_OBJECT_STORE_SECRET_ACCESS_KEY"],
)
def test_production_without_a_required_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for name, value in PRODUCTION.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=missing):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STONKS_DATABASE_URL", "mysql://root:hunter2@db/stonks"),
        ("STONKS_DATABASE_URL", "postgresql:///nohost"),
        ("STONKS_REDIS_URL", "http://cache:6379"),
        ("STONKS_OBJECT_STORE_ENDPOINT_URL", "minio:9000"),
        ("STONKS_QUEUE_MAX_DELIVERIES", "0"),
    ],
)
def test_an_invalid_value_fails_with_one_message_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value), "credentials must not be echoed"


def test_production_rejects_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STONKS_DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(ConfigurationError, match="STONKS_DATABASE_URL must be a postgresql"):
        load_settings()


def test_alpaca_broker_without_keys_names_the_missing_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STONKS_BROKER", "alpaca")
    monkeypatch.setenv("STONKS_ALPACA_API_KEY_ID", "PKTEST")
    with pytest.raises(ConfigurationError, match="STONKS_ALPACA_SECRET_KEY") as raised:
        load_settings()
    assert "PKTEST" not in str(raised.value)


def test_a_provider_url_that_is_not_http_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STONKS_ALPACA_BASE_URL", "paper-api.alpaca.markets")
    with pytest.raises(ConfigurationError, match="STONKS_ALPACA_BASE_URL"):
        load_settings()


def test_a_database_url_may_name_a_unix_socket_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg2://stonks@/stonks?host=/var/run/postgresql&port=5432"
    monkeypatch.setenv("STONKS_DATABASE_URL", url)
    assert load_settings().effective_database_url == url


def test_a_database_url_without_host_or_socket_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STONKS_DATABASE_URL", "postgresql://stonks@/stonks?host=relative")
    with pytest.raises(ConfigurationError, match="has no host"):
        load_settings()
