"""Database access: engines, sessions and schema migrations.

``create_engine_for`` / ``get_engine`` make engines, ``session_scope`` / ``get_session``
give sessions, and ``stonks.db.migrate`` applies the Alembic migrations.
"""

from stonks.db.conflict import conflict_insert, table_of
from stonks.db.engine import (
    check_connection,
    connect,
    create_engine_for,
    default_database_url,
    dispose_engines,
    get_engine,
    get_session,
    safe_url,
    session_factory,
    session_scope,
)

__all__ = [
    "check_connection",
    "conflict_insert",
    "connect",
    "create_engine_for",
    "default_database_url",
    "dispose_engines",
    "get_engine",
    "get_session",
    "safe_url",
    "session_factory",
    "session_scope",
    "table_of",
]
