"""Dialect-aware upserts (PostgreSQL and SQLite) used by the signal layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from stonks.db.conflict import conflict_insert


def upsert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]],
                keys: Sequence[str], *, update: Sequence[str] = ()) -> None:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET update`` (or ``DO NOTHING``)."""
    if not rows:
        return
    statement: Any = conflict_insert(conn.dialect.name, table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={c: statement.excluded[c] for c in update})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(statement, list(rows))
