"""The booking's read (PostgreSQL): the statements that read all the fast path of the
ledger (``realtime.broker.ledger_pg``) needs to book a batch, with the booking's locks
(``LOCKED_READ_PG``) or under them (``READ_PG``), and the reading of the rows they return.

The rows are plain typed columns, no JSON to decode: each row is of one kind and fills
that kind's slice of the columns, the other slices null (``read_slice`` gives a row's slice
by name). ``LOCKED_READ_PG`` takes the locks in the transactional path's order and says
whether what it read is stale (``read_is_stale``); ``READ_PG`` is then run again, under
the locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from realtime.sql import table_of
from stonks.models.portfolio import Position

#: What the booking reads once the locks are held, as plain columns: each row is of one
#: kind (its first column) and fills that kind's slice of the row, the other slices null.
#: A slice is (name, value in its own branch, typed null in the others). The kinds: ``o``
#: the orders (the columns ``ledger.plan``, ``order_rows`` and ``apply_fill`` read), ``p``
#: the batch's positions (every column, as the transactional path reads them), ``s`` the
#: other open positions summed by sector, ``a`` the account, ``e`` the events that exist,
#: ``n`` an id for each ticker without a position and, with the locks, ``l``: whether the
#: read is stale.
_Slice = list[tuple[str, str, str]]
#: The tickers of the batch's orders ($1), as an array computed once: the batch's positions
#: are then found by their unique (account, ticker) index.
_TICKERS = "ARRAY(SELECT ticker FROM orders WHERE id = ANY($1))"


def _table_slice(table: str, alias: str, columns: Sequence[str]) -> _Slice:
    return [(c, f"{alias}.{c}", f"(NULL::{table}).{c}") for c in columns]


def _typed_slice(*columns: tuple[str, str, str]) -> _Slice:
    """``columns``: (name, value, SQL type)."""
    return [(name, value, f"NULL::{sql_type}") for name, value, sql_type in columns]


_SLICES: dict[str, _Slice] = {
    "o": _table_slice("orders", "o", (
        "id", "broker_account_id", "ticker", "side", "status", "filled_quantity",
        "filled_avg_price", "filled_at", "fees", "reject_reason", "raw")),
    "p": _table_slice("positions", "p", [c.name for c in table_of(Position).c]),
    "s": _typed_slice(("sector", "p.sector", "text"),
                      ("value", "sum(COALESCE(p.market_value, 0))", "numeric"),
                      ("pl", "sum(COALESCE(p.unrealized_pl, 0))", "numeric"),
                      ("n", "count(*)", "bigint")),
    "a": _typed_slice(("cash", "a.cash", "numeric"), ("last_equity", "a.last_equity", "numeric"),
                      ("high_water_mark", """(SELECT s.high_water_mark FROM portfolio_snapshots s
                        WHERE s.broker_account_id = a.id ORDER BY s.taken_at DESC LIMIT 1)""",
                       "numeric")),
    "e": _typed_slice(("order_id", "e.order_id", "bigint"), ("event_key", "e.event_key", "text")),
    "n": _typed_slice(("ticker", "t.ticker", "text"),
                      ("id", "nextval(pg_get_serial_sequence('positions', 'id'))", "bigint")),
    "l": _typed_slice(("stale", f"""bool_or(l.xmin IS DISTINCT FROM l.seen)
    OR count(*) <> (SELECT count(*) FROM orders WHERE id = ANY($1))
                  + (SELECT count(*) FROM positions WHERE broker_account_id = $2
                     AND ticker = ANY({_TICKERS}))
                  + (SELECT count(*) FROM broker_accounts WHERE id = $2)""", "boolean")),
}


def _layout() -> dict[str, tuple[int, int, tuple[str, ...]]]:
    """Where each kind's slice starts in a row and ends, and its column names."""
    layout, start = {}, 1
    for kind, columns in _SLICES.items():
        layout[kind] = (start, start + len(columns), tuple(name for name, _, _ in columns))
        start += len(columns)
    return layout


_LAYOUT = _layout()


def _branch(kind: str, source: str) -> str:
    """One kind's SELECT of ``READ_PG``: its slice, nulls in the others, from ``source``."""
    values = ", ".join(value if k == kind else null for k, columns in _SLICES.items()
                       for _, value, null in columns)
    return f"SELECT '{kind}', {values}\n{source}"


READ_PG = "\nUNION ALL\n".join((
    _branch("o", "FROM orders o WHERE o.id = ANY($1)"),
    _branch("p", f"""FROM positions p WHERE p.broker_account_id = $2
  AND p.ticker = ANY({_TICKERS})"""),
    _branch("s", f"""FROM positions p
WHERE p.broker_account_id = $2 AND p.status = 'open'
  AND p.ticker <> ALL({_TICKERS})
GROUP BY p.sector"""),
    _branch("a", "FROM broker_accounts a WHERE a.id = $2"),
    _branch("e", "FROM order_events e WHERE e.order_id = ANY($1) AND e.event_key = ANY($3)"),
    _branch("n", f"""FROM (SELECT DISTINCT ticker FROM orders WHERE id = ANY($1)) AS t
WHERE t.ticker <> ALL(ARRAY(SELECT q.ticker FROM positions q
                            WHERE q.broker_account_id = $2 AND q.ticker = ANY({_TICKERS})))"""),
))

#: ``READ_PG`` with the locks, in the transactional path's order (orders by id, the
#: batch's positions by ticker, then the account; the positions are those of the orders'
#: tickers as we have them, whatever symbol the broker reported): one more row, ``l``,
#: says whether the read is ``stale``. The statement's snapshot is taken before the locks
#: are held, so a row a booking we waited for changed is read as it was: the version each
#: lock holds (its ``xmin``) is compared with the one the snapshot sees, and any change, or
#: a row the snapshot sees that the lock no longer found, makes the read stale (``READ_PG``
#: is then run again, under the locks).
LOCKED_READ_PG = f"""WITH l AS MATERIALIZED (
    SELECT o.xmin::text AS xmin, (SELECT s.xmin FROM orders s WHERE s.id = o.id)::text AS seen
    FROM (SELECT id, xmin FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE) o
    UNION ALL
    SELECT p.xmin::text, (SELECT s.xmin FROM positions s WHERE s.id = p.id)::text
    FROM (SELECT id, xmin FROM positions WHERE broker_account_id = $2
          AND ticker = ANY({_TICKERS})
          ORDER BY ticker FOR UPDATE) p
    UNION ALL
    SELECT a.xmin::text, (SELECT s.xmin FROM broker_accounts s WHERE s.id = a.id)::text
    FROM (SELECT id, xmin FROM broker_accounts WHERE id = $2 FOR NO KEY UPDATE) a
)
{_branch("l", "FROM l")}
UNION ALL
{READ_PG}"""


class ReadRow(dict[str, Any]):
    """A row read: its columns as attributes too (like a SQLAlchemy ``Row``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def read_slice(kind: str, row: Sequence[Any]) -> ReadRow:
    """The columns of ``row`` (a row of ``READ_PG`` of ``kind``), by name."""
    start, end, names = _LAYOUT[kind]
    return ReadRow(zip(names, row[start:end], strict=True))


def read_is_stale(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether ``LOCKED_READ_PG`` read ``rows`` before a row it locked last changed (run
    ``READ_PG`` again then, under the locks)."""
    return any(row[0] == "l" and read_slice("l", row)["stale"] for row in rows)
