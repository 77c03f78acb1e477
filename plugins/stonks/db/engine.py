"""Engines and sessions for the operational database (SQLite embedded, PostgreSQL in production).

Connection problems surface as ``ServiceError`` with the URL's password hidden; callers
never see a driver's exception for "the database is not there".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from stonks.config import get_settings
from stonks.errors import ConfigurationError, ServiceError

logger = logging.getLogger(__name__)

#: How long a PostgreSQL connection attempt may take before it counts as unreachable.
POSTGRES_CONNECT_TIMEOUT_S = 10
#: How long a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def safe_url(url: str | URL) -> str:
    """``url`` as a string fit for logs and error messages (password masked)."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def _parse(url: str | URL) -> URL:
    try:
        return sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL: {exc}") from None


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _configure_sqlite(engine: Engine, *, foreign_keys: bool) -> None:
    # SQLite enforces foreign keys only when asked, per connection; WAL lets readers run
    # while a writer commits; busy_timeout makes concurrent writers wait instead of failing.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()


def create_engine_for(
    url: str | URL, *, sqlite_foreign_keys: bool = True, **engine_kwargs: Any
) -> Engine:
    """A new engine for ``url``, configured for the dialect.

    SQLite: the database's folder is created, foreign keys are enforced, WAL journal and a
    busy timeout are set on every connection. PostgreSQL: connections are checked before use
    and a connection attempt times out after ``POSTGRES_CONNECT_TIMEOUT_S``.
    ``sqlite_foreign_keys=False`` is for migrations, which rebuild tables and must not fire
    ON DELETE actions while doing so.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        # Sessions may be used from a thread other than the one that opened the connection
        # (FastAPI's threadpool); the pool hands a connection to one thread at a time.
        kwargs["connect_args"] = {"check_same_thread": False}
    elif backend == "postgresql":
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
        # UPDATE/DELETE executemany in pages (psycopg2's execute_batch) instead of one round
        # trip per row; INSERTs keep SQLAlchemy's multi-row VALUES.
        if parsed.get_driver_name() == "psycopg2":
            kwargs["executemany_mode"] = "values_plus_batch"
    kwargs.update(engine_kwargs)
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigurationError(f"cannot use database URL {safe_url(parsed)}: {exc}") from None
    except ImportError as exc:
        raise ConfigurationError(
            f"the driver for {safe_url(parsed)} is not installed: {exc}"
        ) from None
    if backend == "sqlite":
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
    return engine


def default_database_url() -> str:
    """The configured database URL (``STONKS_DATABASE_URL``, else the embedded SQLite file)."""
    return get_settings().effective_database_url


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database), made once."""
    key = url or default_database_url()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine_for(key)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every engine ``get_engine`` made (at shutdown, or after a fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def cannot_connect(exc: sa.exc.DBAPIError, url: str | URL) -> ServiceError:
    """The ``ServiceError`` for a failed connection attempt, naming the masked URL."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return ServiceError(f"cannot connect to database {safe_url(url)}: {reason}")


@contextmanager
def connect(engine: Engine) -> Iterator[sa.Connection]:
    """A connection from ``engine``; failure to connect raises ``ServiceError``."""
    try:
        connection = engine.connect()
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise cannot_connect(exc, engine.url) from exc
    with connection:
        yield connection


def check_connection(engine: Engine) -> None:
    """Run ``SELECT 1``; raise ``ServiceError`` if the database cannot be reached."""
    with connect(engine) as connection:
        connection.execute(sa.text("SELECT 1"))


def session_factory(engine: Engine, **session_kwargs: Any) -> Callable[[], Session]:
    """A callable that opens a new ``Session`` on ``engine`` with ``session_kwargs``."""

    def new_session() -> Session:
        return Session(engine, **session_kwargs)

    return new_session


def get_session(engine: Engine | None = None) -> Iterator[Session]:
    """Yield a session and close it afterwards (the shape of a FastAPI dependency)."""
    with Session(engine or get_engine()) as session:
        yield session


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception."""
    with Session(engine or get_engine()) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def migration_engine(url: str | URL) -> Engine:
    """An unpooled engine for schema changes (SQLite foreign-key actions switched off)."""
    return create_engine_for(url, sqlite_foreign_keys=False, poolclass=NullPool)
