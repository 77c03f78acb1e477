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

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import psycopg2
import sqlalchemy as sa

#: SQLSTATEs of a missing prepared statement and of a cached plan the schema outdated.
MISSING_STATEMENT, STALE_PLAN = "26000", "0A000"
#: How long a session keeps its prepared statements (and so their plans).
REPLAN_INTERVAL_S = 5.0
_NAMES = "stonks.prepared.names"
_SINCE = "stonks.prepared.since"


def is_psycopg2(bind: sa.Engine | sa.Connection) -> bool:
    """Whether ``bind`` reaches PostgreSQL through psycopg2 (what the hot paths' prepared
    statements and cursor need; anything else takes the SQLAlchemy path)."""
    dialect = bind.dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


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
            fetch_rows(conn, "DEALLOCATE ALL")
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


Params = Mapping[str, Any] | Sequence[Any] | None


def fetch_rows(conn: sa.Connection, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (one or more statements: the last one's rows) run on ``conn``'s
    psycopg2 cursor, as tuples.

    The hot path's statements are fixed text with few parameters, so SQLAlchemy's
    per-statement work (execution context, result metadata: ~0.1 ms) is skipped; its
    ``before_cursor_execute`` listeners still see each statement. Errors
    are SQLAlchemy's, as ``exec_driver_sql`` raises them (``IntegrityError``,
    ``OperationalError`` with ``connection_invalidated`` when the connection broke, which
    is then invalidated). With ``params`` None the text is sent as it is (a ``%`` in it is
    not a placeholder)."""
    dbapi: Any = conn.connection.dbapi_connection
    try:
        with dbapi.cursor() as cursor:
            if conn.dispatch.before_cursor_execute:  # listeners see it as any statement
                conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
    except psycopg2.Error as exc:
        broken = bool(dbapi.closed)
        if broken:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql, params, exc, psycopg2.Error, connection_invalidated=broken,
            dialect=conn.dialect) from exc


class Preparable(Protocol):
    """A server-side prepared statement: its name and its ``PREPARE name(…) AS …``."""

    @property
    def name(self) -> str: ...

    @property
    def prepare(self) -> str: ...


def execute_prepared(conn: sa.Connection, statement: PreparedStatement,
                     params: Params) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` run on ``conn`` (psycopg2), prepared first when this
    session has not seen it (``run_prepared``)."""
    return run_prepared(conn, (statement,), statement.execute, params)


def run_prepared(conn: sa.Connection, statements: Sequence[Preparable], sql: str,
                 params: Params) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (the ``EXECUTE``s of ``statements``, in one round trip) on
    ``conn``, each statement prepared first when this session has not seen it, and afresh
    once when the session lost one or the schema outdated its plan.

    ``conn`` must be in autocommit: a failed ``EXECUTE`` would abort an open transaction,
    and the retry with it."""
    prepare_statements(conn, statements)
    try:
        return fetch_rows(conn, sql, params)
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) not in (MISSING_STATEMENT, STALE_PLAN):
            raise
    prepare_statements(conn, statements, again=True)
    return fetch_rows(conn, sql, params)


def prepare_statements(conn: sa.Connection, statements: Sequence[Preparable], *,
                       again: bool = False) -> None:
    """Prepare the statements this session has not (``again``: all of them, dropping
    what is left of them first) in one round trip."""
    names = prepared_names(conn)
    missing = {s.name: s for s in statements if again or s.name not in names}
    if again:
        for name in missing:
            names.discard(name)
            try:  # gone already, or outdated: either way it is prepared afresh below
                fetch_rows(conn, f"DEALLOCATE {name}")
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "pgcode", None) != MISSING_STATEMENT:
                    raise
    if missing:
        fetch_rows(conn, ";".join(s.prepare for s in missing.values()))
        names.update(missing)


def _document_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as the column type refuses it on the SQLAlchemy path
            raise ValueError(f"naive datetime {value.isoformat()} refused")
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


#: A JSON document of rows for the prepared statements: decimals as their exact text,
#: timestamps in ISO form (aware ones only: a naive one raises), the rest as JSON has it. A
#: float NaN or infinity raises (JSON has neither; a caller that can store them takes a
#: path with bound parameters, see ``realtime.sql``), never quietly becomes null.
document = json.JSONEncoder(default=_document_value, allow_nan=False,
                            separators=(",", ":")).encode
