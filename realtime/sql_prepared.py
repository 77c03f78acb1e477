"""Statements taking one JSON document, run several in one round trip; on a connection in
autocommit mode prepared on the server once per session (PostgreSQL through psycopg2).

A statement shape is prepared once per session, in a round trip of its own, and then run
as ``EXECUTE name(<document>)``; several go in one string, sent on the psycopg2 cursor
(``fetch_rows``: no SQLAlchemy result set-up). The names a session has prepared are kept
in the pooled connection's ``info``, which lives as long as the DBAPI connection (a
replaced connection starts empty). Prepared statements outlive transactions, so a failed
string leaves them in place. Only autocommit connections use them: should a session have
lost one (``DEALLOCATE ALL``, ``DISCARD ALL``) the failed string ran as its own implicit
transaction, so it is simply prepared again and re-sent; inside an open transaction that
error would abort the caller's work.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from realtime.prepared import run_prepared


@dataclass(frozen=True)
class Statement:
    """One statement taking one JSON document."""

    #: The statement up to its document (what an error names).
    prefix: str
    #: The statement with ``%s`` for its document (a DBAPI parameter); empty for one that
    #: is only ever run prepared.
    template: str
    #: The server-side prepared statement's name and its ``PREPARE name(jsonb) AS …``.
    name: str
    prepare: str


_names = itertools.count(1)
_names_lock = threading.Lock()


def statement_name() -> str:
    """A prepared-statement name unique in this process (so in every session it uses)."""
    with _names_lock:
        return f"rt_bulk_{next(_names)}"


class Rendered(NamedTuple):
    """One statement and the JSON document of its rows."""

    statement: Statement
    document: str


def uses_prepared(conn: sa.Connection) -> bool:
    """Whether ``conn`` runs rendered statements as server-side prepared ones (autocommit)."""
    dbapi = conn.connection.dbapi_connection
    return bool(getattr(dbapi, "autocommit", False))


def run_rendered(conn: sa.Connection,
                 rendered: Sequence[Rendered]) -> list[tuple[Any, ...]]:
    """The rendered statements in one round trip; the last one's rows."""
    documents = tuple(r.document for r in rendered)
    if not uses_prepared(conn):
        # Through SQLAlchemy, which begins the connection's transaction if need be.
        result = conn.exec_driver_sql(";".join(r.statement.template for r in rendered),
                                      documents)
        return [tuple(row) for row in result] if result.returns_rows else []
    text = ";".join(f"EXECUTE {r.statement.name}(%s)" for r in rendered)
    return run_prepared(conn, [r.statement for r in rendered], text, documents)
