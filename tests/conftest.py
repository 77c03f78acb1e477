"""Shared fixtures: a real PostgreSQL and a real Redis for every test that needs them.

``STONKS_TEST_DATABASE_URL`` / ``STONKS_TEST_REDIS_URL`` point the tests at servers that
are already running; otherwise throwaway servers are started on free ports for the session
and stopped at the end. Each test gets its own PostgreSQL database and an empty Redis db.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from stonks.embedded import RedisServer
from tests.harness.postgres import PostgresServer, free_port


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    configured = os.environ.get("STONKS_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for this test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_server_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stonks.db'}"


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    configured = os.environ.get("STONKS_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    directory = Path(tempfile.mkdtemp(prefix="stonks-redis-"))
    server = RedisServer(directory, port=free_port(), persistent=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """URL of an emptied Redis database for this test."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    client.close()
    yield redis_server_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        yield client
    finally:
        client.close()
