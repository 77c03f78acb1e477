"""A worker's own PostgreSQL connection for its hot path.

Each real-time stage runs a few fixed statements per batch. Taking a connection from the
pool and giving it back costs more than some of them: SQLAlchemy resets the session on
check-in (a round trip for an AUTOCOMMIT connection) and sets it up again on check-out. So
a stage keeps one connection, out of the pool, in autocommit mode, for as long as it
lives; each statement commits on its own and a stage that needs a transaction opens it
in the same round trip as its first statement (``BEGIN; EXECUTE …``).

The connection is used by one thread at a time (a lock), is replaced after it breaks, and
is never handed out inside a transaction: one left open by a failure is rolled back, or
the connection is dropped when even that fails. PostgreSQL through psycopg2 only; on
SQLite and other drivers a stage keeps its portable SQLAlchemy path (see ``supports``).

A stage whose statements are all key lookups and JSON-fed writes asks for
``GENERIC_PLANS``: by default the server plans a prepared statement with array or JSON
parameters anew on every run when its generic cost estimate looks worse than the custom
plans (measured: the trading read was planned on 80% of its runs, as long as it ran), and
planning costs as much as running it. A generic plan made while the tables were tiny
would scan them sequentially as they grow (until the next re-planning,
``realtime.prepared``), so sequential scans are ruled out too. Settings are applied when
the session opens (a replaced session gets them again), never per statement.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from sqlalchemy.engine import Engine

from realtime.prepared import (
    Params,
    PreparedStatement,
    execute_prepared,
    fetch_rows,
    is_psycopg2,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Session settings for stages whose statements are key lookups and JSON-fed writes.
GENERIC_PLANS: Mapping[str, str] = {"plan_cache_mode": "force_generic_plan",
                                    "enable_seqscan": "off"}


class KeptConnection:
    """One autocommit PostgreSQL connection kept by a stage (``supports(db)`` engines)."""

    def __init__(self, db: Engine, *, settings: Mapping[str, str] | None = None) -> None:
        """``settings``: session parameters (``SET name = value``) for the connection, set
        when it opens."""
        if not self.supports(db):
            raise ValueError(f"a kept connection needs PostgreSQL through psycopg2, "
                             f"not {db.dialect.name}+{db.dialect.driver}")
        self._autocommit = db.execution_options(isolation_level="AUTOCOMMIT")
        self._settings = "; ".join(f"SET {name} = {value}"
                                   for name, value in (settings or {}).items())
        self._lock = threading.Lock()
        self._conn: sa.Connection | None = None

    @staticmethod
    def supports(db: Engine) -> bool:
        """Whether ``db`` is PostgreSQL through psycopg2 (what the hot paths need)."""
        return is_psycopg2(db)

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """The kept connection (opened, or replaced when found broken, here), in
        autocommit mode and outside any transaction, for this thread alone until the
        block ends."""
        with self._lock:
            conn = self._open()
            try:
                yield conn
            except BaseException:
                self._settle(conn)
                raise
            if self._settle(conn):
                raise RuntimeError("a transaction was left open on the kept connection "
                                   "(rolled back)")

    def run(self, statement: PreparedStatement, params: Params, *,
            retry: bool = False) -> list[tuple[Any, ...]]:
        """The rows of ``statement`` on the kept connection; with ``retry`` (for a
        statement safe to send twice), once more on a fresh connection when the
        connection broke."""
        return self.call(lambda conn: execute_prepared(conn, statement, params), retry=retry)

    def call(self, work: Callable[[sa.Connection], T], *, retry: bool = False) -> T:
        """``work`` on the kept connection; with ``retry`` (for work safe to do twice),
        once more on a fresh connection when the connection broke."""
        for attempt in (1, 2):
            try:
                with self.connection() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if not (retry and exc.connection_invalidated) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the kept connection (a later use opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _open(self) -> sa.Connection:
        conn = self._conn
        if conn is None or conn.invalidated or conn.closed:
            if conn is not None:
                conn.close()
            conn = self._conn = self._autocommit.connect()
            # Out of the pool: it takes no pool slot, and no pool clean-up (which would
            # fail on a server gone away) runs when it is garbage-collected.
            conn.connection.detach()
            if self._settings:
                fetch_rows(conn, self._settings)
        return conn

    def _settle(self, conn: sa.Connection) -> bool:
        """Leave the connection outside any transaction, or drop it; whether a
        transaction was left open."""
        if conn.invalidated or conn.closed:
            self._conn = None
            return False
        dbapi: Any = conn.connection.dbapi_connection
        if dbapi.closed:
            conn.invalidate()
            self._conn = None
            return False
        if dbapi.get_transaction_status() == TRANSACTION_STATUS_IDLE:
            return False
        try:
            fetch_rows(conn, "ROLLBACK")
        except sa.exc.SQLAlchemyError:
            logger.warning("rollback of a transaction left open failed; dropping the "
                           "connection")
            conn.invalidate()
            self._conn = None
        return True
