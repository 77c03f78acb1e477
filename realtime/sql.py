"""Dialect-aware INSERT … ON CONFLICT for PostgreSQL and SQLite (the two supported)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from stonks.db.conflict import conflict_insert, table_of

__all__ = ["conflict_insert", "table_of"]


def insert_statement(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (with ``on_conflict_*``) for ``table``."""
    return conflict_insert(conn.dialect.name, table)


def insert_ignore(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert ``row`` unless it conflicts on ``conflict``; the new id, or None if it existed."""
    statement = insert_statement(conn, table).values(**row).on_conflict_do_nothing(
        index_elements=list(conflict)).returning(table.c.id)
    value = conn.execute(statement).scalar_one_or_none()
    return None if value is None else int(value)


def upsert(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], conflict: Sequence[str]
) -> int:
    """Insert ``row`` or update the existing one on ``conflict``; returns its id."""
    insert = insert_statement(conn, table).values(**row)
    updated = {k: insert.excluded[k] for k in row if k not in conflict}
    statement = insert.on_conflict_do_update(
        index_elements=list(conflict), set_=updated).returning(table.c.id)
    return int(conn.execute(statement).scalar_one())


def upsert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                conflict: Sequence[str]) -> None:
    """``upsert`` for many rows in few round trips (no ids returned)."""
    if not rows:
        return
    insert = insert_statement(conn, table)
    updated = {k: insert.excluded[k] for k in rows[0] if k not in conflict}
    _execute_batched(conn, insert.on_conflict_do_update(
        index_elements=list(conflict), set_=updated), table, rows)


def insert_ignore_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                       conflict: Sequence[str]) -> None:
    """``insert_ignore`` for many rows in few round trips (no ids returned)."""
    if rows:
        _execute_batched(conn, insert_statement(conn, table).on_conflict_do_nothing(
            index_elements=list(conflict)), table, rows)


def _execute_batched(conn: sa.Connection, statement: Any, table: sa.Table,
                     rows: list[dict[str, Any]]) -> None:
    # With RETURNING, SQLAlchemy's "insertmanyvalues" sends the rows as multi-row VALUES
    # batches from one cached compilation; without it psycopg2 runs one INSERT per row.
    # (``.values(rows)`` would compile every row's parameters: far slower.)
    conn.execute(statement.returning(table.c.id), rows).all()
