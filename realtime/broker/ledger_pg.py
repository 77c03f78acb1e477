"""The PostgreSQL fast path of the ledger: a booking in two round trips of prepared SQL.

It holds ``book_and_account_pg`` (what ``ledger.book_broker_orders`` with status events and
``ledger.update_account`` do, for batches without sells, on a psycopg2 connection in
autocommit mode), the write statement, the statements it prepares and the JSON documents
that carry the rows written (``document``). The read (with its locks) and the reading of
the rows it returns are ``realtime.broker.booking_read_pg``'s. The calculations are
``realtime.broker.ledger``'s, shared with the transactional path, so both paths book the
same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from realtime.broker.base import BrokerOrder
from realtime.broker.booking_read_pg import (
    LOCKED_READ_PG,
    READ_PG,
    ReadRow,
    read_is_stale,
    read_slice,
)
from realtime.broker.ledger import (
    POSITION_COLUMNS,
    BookedFill,
    Booking,
    Group,
    account_rows,
    apply_fill,
    order_rows,
    plan,
)
from realtime.prepared import (
    MISSING_STATEMENT,
    STALE_PLAN,
    PreparedStatement,
    document,
    fetch_rows,
    prepare_statements,
)
from stonks.models.enums import OrderSide
from stonks.models.portfolio import PositionStatus

logger = logging.getLogger(__name__)

# ``book_and_account_pg`` does what ``book_broker_orders`` (with status events) followed by
# ``update_account`` does in one transaction, for batches without sells, in two round trips
# of hand-written SQL on a connection in autocommit mode: the transaction is opened and one
# statement locks the rows in the same order as the transactional path (orders by id, the
# batch's positions by ticker, then the account) and reads everything the booking needs;
# if a row it locked changed after its snapshot was taken (it waited for a concurrent
# booking), the read is run again under the locks, a round trip more. Then every write and
# the COMMIT go as one string. Which fills are new is read under the order locks (fill
# events are only written by a booking holding them), and the fill events and new
# positions are inserted without ON CONFLICT: if that was wrong (a concurrent worker
# opened the position first) the statement fails, nothing is written, and the caller books
# the batch on the transactional path, which waits and re-applies.
#
# The statements are prepared once per connection, before the transaction opens (their
# text never changes: the rows travel as JSON documents), so the server neither parses
# nor plans them again.

_EVENT_COLUMNS = (
    ("created_at", "timestamptz"), ("order_id", "bigint"), ("event_key", "text"),
    ("event_type", "text"), ("status_after", "text"), ("fill_quantity", "numeric"),
    ("fill_price", "numeric"), ("fee", "numeric"), ("cumulative_quantity", "numeric"),
    ("occurred_at", "timestamptz"), ("payload", "json"),
)
_POSITION_TYPES = (
    ("quantity", "numeric"), ("cost_basis", "numeric"), ("avg_entry_price", "numeric"),
    ("market_price", "numeric"), ("market_value", "numeric"), ("unrealized_pl", "numeric"),
    ("realized_pl", "numeric"), ("status", "text"), ("closed_at", "timestamptz"),
    ("updated_at", "timestamptz"), ("opened_at", "timestamptz"), ("entry_order_id", "bigint"),
    ("sector", "text"), ("stop_loss", "numeric"), ("take_profit", "numeric"),
    ("targets", "json"), ("trailing_atr_multiple", "double precision"),
    ("trailing_stop", "numeric"), ("high_water_price", "numeric"),
)
assert tuple(c for c, _ in _POSITION_TYPES) == POSITION_COLUMNS
_NEW_POSITION_TYPES = (("id", "bigint"), ("broker_account_id", "bigint"), ("ticker", "text"),
                       ("created_at", "timestamptz"), *_POSITION_TYPES)
_ORDER_TYPES = (
    ("status", "text"), ("broker_order_id", "text"), ("filled_quantity", "numeric"),
    ("filled_avg_price", "numeric"), ("raw", "json"), ("fees", "numeric"),
    ("filled_at", "timestamptz"), ("reject_reason", "text"), ("updated_at", "timestamptz"),
)
_ACCOUNT_TYPES = (("cash", "numeric"), ("equity", "numeric"), ("buying_power", "numeric"),
                  ("updated_at", "timestamptz"))
_SNAPSHOT_TYPES = (
    ("created_at", "timestamptz"), ("broker_account_id", "bigint"),
    ("taken_at", "timestamptz"), ("cash", "numeric"), ("equity", "numeric"),
    ("positions_value", "numeric"), ("buying_power", "numeric"), ("unrealized_pl", "numeric"),
    ("realized_pl_day", "numeric"), ("day_pl", "numeric"), ("high_water_mark", "numeric"),
    ("drawdown", "numeric"), ("open_positions", "integer"), ("sector_exposure", "json"),
    ("details", "json"),
)


def _fields(types: Sequence[tuple[str, str]], offset: int = 0) -> str:
    """The columns of a row of a JSON document ``r`` (an array), cast to their types."""
    return ", ".join(f"r->{n + offset}" if t == "json" else f"(r->>{n + offset})::{t}"
                     for n, (_, t) in enumerate(types))


def _names(types: Sequence[tuple[str, str]]) -> str:
    return ", ".join(c for c, _ in types)


def _sets(types: Sequence[tuple[str, str]]) -> str:
    """``column = value`` for the row ``r`` of an UPDATE's document (its id first)."""
    return ", ".join(f"{c} = {v}" for (c, _), v in zip(types, _fields(types, 1).split(", "),
                                                       strict=True))


#: Every write of a booking, each fed by one JSON document (an array of rows, each row an
#: array of values): $1 fill events (all new), $2 status events, $3 new positions (ids
#: drawn by ``READ_PG``), $4 moved positions, $5 orders, $6 the account, $7 its snapshot.
_WRITE_PG = f"""
WITH fe AS (
    INSERT INTO order_events ({_names(_EVENT_COLUMNS)})
    SELECT {_fields(_EVENT_COLUMNS)} FROM json_array_elements($1) AS r
), se AS (
    INSERT INTO order_events ({_names(_EVENT_COLUMNS)})
    SELECT {_fields(_EVENT_COLUMNS)} FROM json_array_elements($2) AS r
    ON CONFLICT (order_id, event_key) DO NOTHING
), pi AS (
    INSERT INTO positions ({_names(_NEW_POSITION_TYPES)})
    SELECT {_fields(_NEW_POSITION_TYPES)} FROM json_array_elements($3) AS r
), pu AS (
    UPDATE positions SET {_sets(_POSITION_TYPES)}
    FROM json_array_elements($4) AS r WHERE id = (r->>0)::bigint
), ou AS (
    UPDATE orders SET {_sets(_ORDER_TYPES)}
    FROM json_array_elements($5) AS r WHERE id = (r->>0)::bigint
), au AS (
    UPDATE broker_accounts SET {_sets(_ACCOUNT_TYPES)}
    FROM json_array_elements($6) AS r WHERE id = (r->>0)::bigint
)
INSERT INTO portfolio_snapshots ({_names(_SNAPSHOT_TYPES)})
SELECT {_fields(_SNAPSHOT_TYPES)} FROM json_array_elements($7) AS r
ON CONFLICT (broker_account_id, taken_at) DO NOTHING"""

#: The prepared statements: name, parameter types, text.
_PREPARED = tuple(
    PreparedStatement(name, f"PREPARE {name}({types}) AS {text}", f"EXECUTE {name}")
    for name, types, text in (
        ("stonks_booking_locked_read", "bigint[], bigint, text[]", LOCKED_READ_PG),
        ("stonks_booking_read", "bigint[], bigint, text[]", READ_PG),
        ("stonks_booking_write", "json, json, json, json, json, json, json", _WRITE_PG),
    ))
_RUN_LOCKED_READ = ("BEGIN; "
                    "EXECUTE stonks_booking_locked_read(%(ids)s, %(account)s, %(keys)s)")
_RUN_READ = "EXECUTE stonks_booking_read(%(ids)s, %(account)s, %(keys)s)"
_RUN_WRITE = "EXECUTE stonks_booking_write(%s, %s, %s, %s, %s, %s, %s); COMMIT"


def book_and_account_pg(
    conn: sa.Connection, account_id: int,
    results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
) -> Booking | None:
    """``book_broker_orders(..., status_events=True)`` then ``update_account`` for the
    fills, committed, in two round trips (PostgreSQL through psycopg2, ``conn`` in
    autocommit mode, no sell among the fills; on the broker's own session, with
    ``kept_connection.GENERIC_PLANS``); None when a concurrent booking got in the way and
    nothing was written (book the batch on the transactional path then). No transaction is
    left open.
    """
    if not results:
        return Booking([], [])
    ids = sorted({i for i, _, _ in results})
    keys = sorted({f"fill:{f.execution_id}" for _, r, _ in results for f in r.fills}
                  | {f"status:{r.status.value}" for _, r, _ in results})
    # Prepared before the transaction opens (in autocommit), so the only error of a prepared
    # statement inside it is one lost or outdated meanwhile: rolled back, and the booking
    # is tried once more on statements prepared afresh.
    prepare_statements(conn, _PREPARED)
    try:
        return _book_once(conn, account_id, results, ids, keys)
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) not in (MISSING_STATEMENT, STALE_PLAN):
            raise
    prepare_statements(conn, _PREPARED, again=True)
    return _book_once(conn, account_id, results, ids, keys)


def _book_once(conn: sa.Connection, account_id: int,
               results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
               ids: list[int], keys: list[str]) -> Booking | None:
    """``book_and_account_pg`` on prepared statements, in one transaction: None (nothing
    written) when a concurrent booking got in the way; any error rolls it back."""
    try:
        keyed = {"ids": ids, "account": account_id, "keys": keys}
        read = fetch_rows(conn, _RUN_LOCKED_READ, keyed)
        if read_is_stale(read):
            read = fetch_rows(conn, _RUN_READ, keyed)  # changed while we waited: again
        params, booking = _booking_pg(account_id, results, read)
        fetch_rows(conn, _RUN_WRITE, params)
    except sa.exc.IntegrityError:
        _rollback(conn)
        return None
    except BaseException:
        _rollback(conn)
        raise
    return booking


def _rollback(conn: sa.Connection) -> None:
    """End the transaction the fast path opened; a connection where that fails is closed
    rather than pooled with a transaction open."""
    try:
        fetch_rows(conn, "ROLLBACK")
    except Exception:  # the connection is broken: never hand it out again
        logger.warning("rollback after a failed booking failed; dropping the connection")
        conn.invalidate()


def _booking_pg(account_id: int,
                results: Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]],
                read: Sequence[Any]) -> tuple[tuple[str, ...], Booking]:
    """The documents of ``_WRITE_PG`` and the booking they make, from what ``READ_PG``
    read."""
    orders: dict[int, ReadRow] = {}
    held: dict[str, ReadRow] = {}
    account: ReadRow | None = None
    existing: set[tuple[int, str]] = set()
    fresh: dict[str, int] = {}  # ticker without a position → the id its row will get
    groups: list[Group] = []  # the other open positions, by sector
    for raw in read:
        kind = raw[0]
        row = read_slice(kind, raw)
        if kind == "o":
            if row["broker_account_id"] != account_id:
                raise ValueError(f"order {row['id']} is not of account {account_id}")
            orders[int(row["id"])] = row
        elif kind == "p":
            if row["targets"] is None:
                row["targets"] = []
            held[str(row["ticker"])] = row
        elif kind == "s":
            groups.append((row["sector"], row["value"], row["pl"], int(row["n"])))
        elif kind == "a":
            account = row
        elif kind == "e":
            existing.add((int(row["order_id"]), str(row["event_key"])))
        elif kind == "n":
            fresh[str(row["ticker"])] = int(row["id"])
    if account is None:
        raise LookupError(f"broker account {account_id} not found")
    now = datetime.now(UTC)
    events, fills = plan(orders, results, status_events=True, now=now)
    events = {k: e for k, e in events.items() if k not in existing}
    fills = [f for f in fills if (f[0], f"fill:{f[1].execution_id}") in events]
    tickers = sorted({str(orders[i].ticker) for i, _, _ in fills})
    state: dict[str, dict[str, Any]] = {t: dict(held[t]) for t in tickers if t in held}
    booked = [BookedFill(i, orders[i].ticker, OrderSide(orders[i].side), fill,
                         apply_fill(state, orders[i], fill, exits)) for i, fill, exits in fills]
    for ticker in tickers:
        if ticker not in held:
            state[ticker].update(id=fresh[ticker], broker_account_id=account_id,
                                 ticker=ticker, created_at=now)
    fill_events: list[list[Any]] = []
    status_events: list[list[Any]] = []
    for (_, key), event in events.items():
        (fill_events if key.startswith("fill:") else status_events).append(
            [now, *(event[c] for c, _ in _EVENT_COLUMNS[1:])])
    opened = [[state[t].get(c) for c, _ in _NEW_POSITION_TYPES] for t in tickers if t not in held]
    moved = [[state[t]["id"], *(state[t].get(c) for c in POSITION_COLUMNS)]
             for t in tickers if t in held]
    order_updates = [[order_id, *(row[c] for c, _ in _ORDER_TYPES)]
                     for order_id, row in order_rows(orders, results, booked, now).items()]
    balances: list[list[Any]] = []
    snapshots: list[list[Any]] = []
    if booked:
        # The positions of the batch as they are now (moved or not), and the others.
        groups += [(r.get("sector"), r.get("market_value"), r.get("unrealized_pl"), 1)
                   for r in ({**held, **state}).values()
                   if r["status"] == PositionStatus.OPEN.value]
        account_values, snapshot = account_rows(account_id, account, groups, booked, now)
        snapshot["created_at"] = now
        balances = [[account_id, *(account_values[c] for c, _ in _ACCOUNT_TYPES)]]
        snapshots = [[snapshot[c] for c, _ in _SNAPSHOT_TYPES]]
    documents = tuple(document(d) for d in (fill_events, status_events, opened, moved,
                                             order_updates, balances, snapshots))
    return documents, Booking(booked, [state[t] for t in tickers])
