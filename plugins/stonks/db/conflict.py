"""INSERT … ON CONFLICT for the two supported databases, and the Core table of a model."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def table_of(model: Any) -> sa.Table:
    """The Core table of a SQLModel table class."""
    table: sa.Table = model.__table__
    return table


def conflict_insert(dialect_name: str, table: sa.Table) -> Any:
    """The dialect's ``INSERT`` for ``table``, which has ``on_conflict_do_*``."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {dialect_name}")
