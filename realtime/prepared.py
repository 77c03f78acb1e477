"""Server-side prepared statements on PostgreSQL for the hot path's few, fixed statements.

Planning the wide statements of the decision path costs more than running them, so each is
prepared once per database session (``PREPARE name(types) AS …``) and run with ``EXECUTE``.
A session that lost the statement (a reset connection) or whose cached plan the schema
outdated gets it prepared again, once; any other error is the caller's.

A session drops all its statements every ``REPLAN_INTERVAL_S`` and prepares them afresh.
The decision path's tables grow quickly (from empty on a new deployment), and a plan made
when a table was tiny scans it sequentially; PostgreSQL keeps such a plan until an ANALYZE
of the table, which autovacuum may not run for a minute or more, while every lookup gets
slower with the table. Re-planning every few seconds costs one planning per statement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

#: SQLSTATEs of a missing prepared statement and of a cached plan the schema outdated.
MISSING_STATEMENT, STALE_PLAN = "26000", "0A000"
#: How long a session keeps its prepared statements (and so their plans).
REPLAN_INTERVAL_S = 5.0
_NAMES = "stonks.prepared.names"
_SINCE = "stonks.prepared.since"


def prepared_names(conn: sa.Connection) -> set[str]:
    """The statements this session has prepared (kept with the DBAPI connection, so a
    replaced connection starts empty); all of them are deallocated first when due for
    re-planning."""
    info = conn.connection.info
    now = time.monotonic()
    names: set[str] | None = info.get(_NAMES)
    if names is None:
        names = info[_NAMES] = set()
        info[_SINCE] = now
    elif now - info[_SINCE] >= REPLAN_INTERVAL_S:
        if names:
            conn.exec_driver_sql("DEALLOCATE ALL")
            names.clear()
        info[_SINCE] = now
    return names


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
    names = prepared_names(conn)
    if statement.name not in names:
        conn.exec_driver_sql(statement.prepare)
        names.add(statement.name)
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
