"""Dialect-aware INSERT … ON CONFLICT for PostgreSQL and SQLite (the two supported).

On PostgreSQL through psycopg2 the helpers take the fast path of
:mod:`realtime.sql_documents`: the rows travel as one JSON document per statement (with
the same bind processing and Python-side defaults as SQLAlchemy's), several statements go
in one round trip, and on a connection in autocommit mode each statement shape is
prepared on the server once per session (:mod:`realtime.sql_prepared`), where
:func:`write_together` even writes several tables in one statement. Everything else
(SQLite, other drivers, column types or values JSON cannot carry exactly, SQL-expression
defaults, rows of differing shapes) takes the SQLAlchemy path, whose statements are
cached too.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from realtime.sql_documents import BulkWrite, Converted, render, render_combined
from realtime.sql_prepared import Rendered, run_rendered
from stonks.db.conflict import conflict_insert, table_of

__all__ = [
    "BulkWrite",
    "conflict_insert",
    "insert_ignore",
    "insert_ignore_many",
    "insert_statement",
    "table_of",
    "upsert",
    "upsert_many",
    "write_many",
    "write_together",
]


def insert_statement(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (with ``on_conflict_*``) for ``table``."""
    return conflict_insert(conn.dialect.name, table)


def insert_ignore(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert ``row`` unless it conflicts on ``conflict``; the new id, or None if it existed."""
    fast = render(conn, table, [row], conflict, update=False, returning_id=True)
    if fast is not None:
        found = run_rendered(conn, fast)
        value = found[0][0] if found else None
    else:
        statement = insert_statement(conn, table).values(**row).on_conflict_do_nothing(
            index_elements=list(conflict)).returning(table.c.id)
        value = conn.execute(statement).scalar_one_or_none()
    return None if value is None else int(value)


def upsert(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], conflict: Sequence[str]
) -> int:
    """Insert ``row`` or update the existing one on ``conflict``; returns its id."""
    fast = render(conn, table, [row], conflict, update=True, returning_id=True)
    if fast is not None:
        [(value,)] = run_rendered(conn, fast)
        return int(value)
    insert = insert_statement(conn, table).values(**row)
    updated = {k: insert.excluded[k] for k in row if k not in conflict}
    statement = insert.on_conflict_do_update(
        index_elements=list(conflict), set_=updated).returning(table.c.id)
    return int(conn.execute(statement).scalar_one())


def upsert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                conflict: Sequence[str]) -> None:
    """``upsert`` for many rows in few round trips (no ids returned)."""
    write_many(conn, [BulkWrite(table, rows, conflict, True)])


def insert_ignore_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                       conflict: Sequence[str]) -> None:
    """``insert_ignore`` for many rows in few round trips (no ids returned)."""
    write_many(conn, [BulkWrite(table, rows, conflict, False)])


def write_many(conn: sa.Connection, writes: Sequence[BulkWrite]) -> None:
    """Every write in order, as ``upsert_many`` / ``insert_ignore_many`` would do them.

    On PostgreSQL (psycopg2) all of them go in one round trip: one string of statements,
    which the server runs as one implicit transaction when ``conn`` is in autocommit mode
    (else inside the connection's transaction).
    """
    pending: list[Rendered] = []
    converted: Converted = {}  # writes may share rows (a table and its history)
    for write in writes:
        if not write.rows:
            continue
        fast = render(conn, write.table, write.rows, write.conflict, update=write.update,
                       returning_id=False, keys=write.keys, converted=converted)
        if fast is not None:
            pending.extend(fast)
            continue
        if pending:  # keep the order of the writes
            run_rendered(conn, pending)
            pending = []
        _write_slow(conn, write)
    if pending:
        run_rendered(conn, pending)


def write_together(conn: sa.Connection, writes: Sequence[BulkWrite]) -> None:
    """``write_many`` for writes to different tables, as one statement where it can be.

    On a PostgreSQL (psycopg2) connection in autocommit mode the writes become one
    prepared statement (see :func:`realtime.sql_documents.render_combined`), which the
    server runs as one transaction, with the same rows, conflict handling and values as
    ``write_many``'s; elsewhere (or if a write needs the SQLAlchemy path) ``write_many``.
    """
    writes = [write for write in writes if write.rows]
    combined = render_combined(conn, writes)
    if combined is None:
        write_many(conn, writes)
    else:
        run_rendered(conn, [combined])


# --- the SQLAlchemy path --------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _slow_statement(dialect_name: str, table: sa.Table, keys: tuple[str, ...],
                    conflict: tuple[str, ...], update: bool) -> Any:
    insert = conflict_insert(dialect_name, table)
    if update:
        statement = insert.on_conflict_do_update(
            index_elements=list(conflict),
            set_={k: insert.excluded[k] for k in keys if k not in conflict})
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(conflict))
    # With RETURNING, SQLAlchemy's "insertmanyvalues" sends the rows as multi-row VALUES
    # batches from one cached compilation; without it psycopg2 runs one INSERT per row.
    # (``.values(rows)`` would compile every row's parameters: far slower.)
    return statement.returning(table.c.id)


def _write_slow(conn: sa.Connection, write: BulkWrite) -> None:
    keys = write.keys
    rows: list[Any] = (list(write.rows) if keys is None
                       else [dict(zip(keys, row, strict=True)) for row in write.rows])
    statement = _slow_statement(conn.dialect.name, write.table, tuple(rows[0]),
                                tuple(write.conflict), write.update)
    conn.execute(statement, rows).all()


