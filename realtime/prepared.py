"""Server-side prepared statements on PostgreSQL for the hot path's few, fixed statements.

Planning the wide statements of the decision path costs more than running them, so each is
prepared once per database session (``PREPARE name(types) AS …``) and run with ``EXECUTE``.
A session that lost the statement (a reset connection) or whose cached plan the schema
outdated gets it prepared again, once; any other error is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

#: SQLSTATEs of a missing prepared statement and of a cached plan the schema outdated.
MISSING_STATEMENT, STALE_PLAN = "26000", "0A000"


@dataclass(frozen=True)
class PreparedStatement:
    """``prepare`` is the full ``PREPARE name(…) AS …``; ``execute`` the ``EXECUTE name(…)``
    with DBAPI (pyformat) parameters."""

    name: str
    prepare: str
    execute: str


def execute_prepared(conn: sa.Connection, statement: PreparedStatement,
                     params: dict[str, Any]) -> sa.CursorResult[Any]:
    """``statement`` run on ``conn``, prepared first when this session has not seen it.

    ``conn`` must be in autocommit: a failed ``EXECUTE`` would abort an open transaction,
    and the retry with it."""
    info = conn.connection.info
    if not info.get(statement.name):
        conn.exec_driver_sql(statement.prepare)
        info[statement.name] = True
    try:
        return conn.exec_driver_sql(statement.execute, params)
    except sa.exc.DBAPIError as exc:
        code = getattr(exc.orig, "pgcode", None)
        if code not in (MISSING_STATEMENT, STALE_PLAN):
            raise
        if code == STALE_PLAN:
            conn.exec_driver_sql(f"DEALLOCATE {statement.name}")
        conn.exec_driver_sql(statement.prepare)
        return conn.exec_driver_sql(statement.execute, params)
