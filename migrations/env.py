"""Alembic environment: migrates the database described by ``stonks.models``.

``stonks.db.migrate`` hands over an open connection in ``config.attributes["connection"]``;
Alembic's CLI gets one from ``sqlalchemy.url`` or, when that is empty, from the settings
(``STONKS_DATABASE_URL`` or the embedded SQLite file).
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import AutoString

from stonks.db.engine import default_database_url, migration_engine
from stonks.models import metadata
from stonks.models.types import StrEnumType, UTCDateTime

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types as the plain SQLAlchemy types they store as.

    Migration files must not import application code: a later refactor of
    ``stonks.models.types`` must never break an old migration.
    """
    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
        if isinstance(obj, StrEnumType | AutoString):
            length = getattr(obj.impl, "length", None)
            return f"sa.String(length={length})" if length else "sa.String()"
    return False


def _database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or default_database_url()


def _configure(**kwargs: Any) -> None:
    url = kwargs.get("url")
    connection: Connection | None = kwargs.get("connection")
    dialect = connection.dialect.name if connection is not None else str(url).split(":", 1)[0]
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=False,
        render_item=render_item,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=dialect.startswith("sqlite"),
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the caller's connection, or on a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = migration_engine(_database_url())
    try:
        with engine.connect() as new_connection:
            _configure(connection=new_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
