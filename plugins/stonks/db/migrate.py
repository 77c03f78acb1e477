"""Apply, revert and inspect schema migrations programmatically (``stonks db upgrade``).

Alembic's configuration is built here rather than read from a file in the working
directory, so the same calls work from the CLI, Airflow tasks, the API's start-up and tests.
The migration scripts live in ``migrations/`` at the repository root; ``STONKS_MIGRATIONS_DIR``
points elsewhere (e.g. an installed copy).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from stonks.db.engine import connect, default_database_url, migration_engine, safe_url
from stonks.errors import ConfigurationError, StonksError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR_ENV = "STONKS_MIGRATIONS_DIR"
# plugins/stonks/db/migrate.py → the repository root is three folders up.
_DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


class MigrationError(StonksError):
    """A migration could not be applied or reverted (bad revision, failing script)."""


def migrations_dir() -> Path:
    """The folder holding ``env.py`` and ``versions/``."""
    configured = os.environ.get(MIGRATIONS_DIR_ENV)
    directory = Path(configured) if configured else _DEFAULT_MIGRATIONS_DIR
    if not (directory / "env.py").is_file():
        raise ConfigurationError(
            f"no Alembic migrations at {directory} (set {MIGRATIONS_DIR_ENV} to the folder "
            "that holds env.py)"
        )
    return directory


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for ``url`` (default: the configured database)."""
    directory = migrations_dir()
    ini = directory / "alembic.ini"
    config = Config(str(ini) if ini.is_file() else None)
    config.set_main_option("script_location", str(directory))
    # ConfigParser interpolation treats '%' specially; percent-encoded passwords need '%%'.
    config.set_main_option("sqlalchemy.url", (url or default_database_url()).replace("%", "%%"))
    # The caller's logging setup stays as it is; alembic.ini's loggers are for its own CLI.
    config.attributes["configure_logger"] = False
    return config


def _run(url: str | None, action: str, revision: str) -> None:
    target = url or default_database_url()
    config = alembic_config(target)
    engine = migration_engine(target)
    try:
        with connect(engine) as connection, connection.begin():
            # env.py runs on this connection, inside this transaction.
            config.attributes["connection"] = connection
            logger.info(
                "migrating database",
                extra={"action": action, "revision": revision, "url": safe_url(target)},
            )
            try:
                if action == "upgrade":
                    command.upgrade(config, revision)
                else:
                    command.downgrade(config, revision)
            except CommandError as exc:
                raise MigrationError(f"{action} to {revision!r} failed: {exc}") from exc
    finally:
        engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` (default: the configured one) up to ``revision``."""
    _run(url, "upgrade", revision)


def downgrade(url: str | None, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"`` empties it)."""
    _run(url, "downgrade", revision)


def current(url: str | None = None) -> str | None:
    """The revision the database at ``url`` is at, or ``None`` if it was never migrated."""
    engine = migration_engine(url or default_database_url())
    try:
        with connect(engine) as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision among the migration scripts."""
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    if len(heads) != 1:
        raise MigrationError(f"expected one migration head, found {sorted(heads)}")
    return heads[0]


def is_up_to_date(url: str | None = None) -> bool:
    """Whether the database at ``url`` is at the newest revision."""
    return current(url) == head()


__all__ = [
    "MIGRATIONS_DIR_ENV",
    "MigrationError",
    "alembic_config",
    "current",
    "downgrade",
    "head",
    "is_up_to_date",
    "migrations_dir",
    "upgrade",
]
