"""The PostgreSQL fast path of the ledger: a booking in two round trips of prepared SQL.

It holds ``book_and_account_pg`` (what ``ledger.book_broker_orders`` with status events and
``ledger.update_account`` do, for batches without sells, on a psycopg2 connection in
autocommit mode), the lock, read and write statements it prepares, the JSON documents that
carry their rows (``document``) and the reading of rows back from JSON. The calculations
are ``realtime.broker.ledger``'s, shared with the transactional path, so both paths book
the same rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.broker.base import BrokerOrder
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
from realtime.prepared import document, fetch_rows, forget_prepared, prepare_once
from stonks.models.enums import OrderSide
from stonks.models.portfolio import PositionStatus

logger = logging.getLogger(__name__)

# ``book_and_account_pg`` does what ``book_broker_orders`` (with status events) followed by
# ``update_account`` does in one transaction, for batches without sells, in two round trips
# of hand-written SQL on a connection in autocommit mode: the transaction is opened, the
# rows are locked in the same order as the transactional path (orders by id, the batch's
# positions by ticker, then the account) and, in a second statement whose snapshot is
# taken once the locks are held, everything the booking needs is read; then every write
# and the COMMIT go as one string. Which fills are new is read under the order locks (fill
# events are only written by a booking holding them), and the fill events and new
# positions are inserted without ON CONFLICT: if that was wrong (a concurrent worker
# opened the position first) the statement fails, nothing is written, and the caller books
# the batch on the transactional path, which waits and re-applies.
#
# The three statements are prepared once per connection (their text never changes: the
# rows travel as JSON documents), so the server neither parses nor plans them again.

#: Locks in the transactional path's order: $1 order ids, $2 account. (The positions are
#: those of the orders' tickers as we have them, whatever symbol the broker reported.)
_LOCK_PG = """
SELECT count(*) FROM (
SELECT 1 FROM (SELECT 1 FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE) o
UNION ALL
SELECT 1 FROM (SELECT 1 FROM positions WHERE broker_account_id = $2
               AND ticker IN (SELECT ticker FROM orders WHERE id = ANY($1))
               ORDER BY ticker FOR UPDATE) p
UNION ALL
SELECT 1 FROM (SELECT 1 FROM broker_accounts WHERE id = $2 FOR NO KEY UPDATE) a
) locked"""

#: The columns of an order the booking reads (``ledger.plan``, ``order_rows``,
#: ``apply_fill``), with ``raw``.
_ORDER_COLUMNS = ("id", "broker_account_id", "ticker", "side", "status", "filled_quantity",
                  "filled_avg_price", "filled_at", "fees", "reject_reason")
_ORDER_OBJECT = ", ".join(f"'{c}', o.{c}" for c in _ORDER_COLUMNS)

#: What the booking reads once the locks are held ($3: the event keys it may add): the
#: orders, the batch's positions, the other open positions summed by sector, the account,
#: the events that exist, and an id for each ticker without a position.
_READ_PG = f"""
SELECT 'o', json_build_object({_ORDER_OBJECT})::text,
       o.raw::text
FROM orders o WHERE o.id = ANY($1)
UNION ALL
SELECT 'p', (to_jsonb(p) - 'targets')::text, p.targets::text FROM positions p
WHERE p.broker_account_id = $2 AND p.ticker IN (SELECT ticker FROM orders WHERE id = ANY($1))
UNION ALL
SELECT 's', json_build_object('sector', p.sector, 'value', sum(COALESCE(p.market_value, 0)),
                              'pl', sum(COALESCE(p.unrealized_pl, 0)), 'n', count(*))::text,
       NULL
FROM positions p
WHERE p.broker_account_id = $2 AND p.status = 'open'
  AND p.ticker NOT IN (SELECT ticker FROM orders WHERE id = ANY($1))
GROUP BY p.sector
UNION ALL
SELECT 'a', json_build_object(
    'cash', a.cash, 'last_equity', a.last_equity,
    'high_water_mark', (SELECT s.high_water_mark FROM portfolio_snapshots s
                        WHERE s.broker_account_id = a.id ORDER BY s.taken_at DESC LIMIT 1)
    )::text, NULL FROM broker_accounts a WHERE a.id = $2
UNION ALL
SELECT 'e', e.order_id::text, e.event_key FROM order_events e
WHERE e.order_id = ANY($1) AND e.event_key = ANY($3)
UNION ALL
SELECT 'n', t.ticker, nextval(pg_get_serial_sequence('positions', 'id'))::text
FROM (SELECT DISTINCT ticker FROM orders WHERE id = ANY($1)) AS t
WHERE NOT EXISTS (SELECT 1 FROM positions q WHERE q.broker_account_id = $2
                  AND q.ticker = t.ticker)"""

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
#: drawn by ``_READ_PG``), $4 moved positions, $5 orders, $6 the account, $7 its snapshot.
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
_PREPARED = (
    ("stonks_booking_lock", "bigint[], bigint", _LOCK_PG),
    ("stonks_booking_read", "bigint[], bigint, text[]", _READ_PG),
    ("stonks_booking_write", "json, json, json, json, json, json, json", _WRITE_PG),
)
_RUN_READ = ("BEGIN; EXECUTE stonks_booking_lock(%(ids)s, %(account)s); "
             "EXECUTE stonks_booking_read(%(ids)s, %(account)s, %(keys)s)")
_RUN_WRITE = "EXECUTE stonks_booking_write(%s, %s, %s, %s, %s, %s, %s); COMMIT"
_TIMESTAMPS = frozenset({"filled_at", "opened_at", "closed_at", "created_at", "updated_at",
                         "reconciled_at", "submitted_at", "approved_at", "canceled_at"})


class _Row(dict[str, Any]):
    """A row read as JSON: its columns as attributes too (like a SQLAlchemy ``Row``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _json_row(text: str) -> _Row:
    row = _Row(json.loads(text, parse_float=Decimal))
    for key in _TIMESTAMPS & row.keys():
        if row[key] is not None:
            row[key] = datetime.fromisoformat(row[key])
    if row.get("trailing_atr_multiple") is not None:
        row["trailing_atr_multiple"] = float(row["trailing_atr_multiple"])
    return row


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
    prepare_once(conn, _PREPARED)
    try:
        read = fetch_rows(conn, _RUN_READ, {"ids": ids, "account": account_id, "keys": keys})
        params, booking = _booking_pg(account_id, results, read)
        fetch_rows(conn, _RUN_WRITE, params)
    except sa.exc.IntegrityError:
        _rollback(conn)
        return None
    except BaseException:
        forget_prepared(conn, _PREPARED)  # looked for again next time, in case they are gone
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
    """The documents of ``_WRITE_PG`` and the booking they make, from what ``_READ_PG``
    read."""
    orders: dict[int, _Row] = {}
    held: dict[str, _Row] = {}
    account: _Row | None = None
    existing: set[tuple[int, str]] = set()
    fresh: dict[str, int] = {}  # ticker without a position → the id its row will get
    groups: list[Group] = []  # the other open positions, by sector
    for kind, first, second in read:
        if kind == "o":
            row = _json_row(first)
            row["raw"] = json.loads(second) if second is not None else None
            if row["broker_account_id"] != account_id:
                raise ValueError(f"order {row['id']} is not of account {account_id}")
            orders[int(row["id"])] = row
        elif kind == "p":
            row = _json_row(first)
            row["targets"] = json.loads(second) if second is not None else []
            held[str(row["ticker"])] = row
        elif kind == "s":
            group = _json_row(first)
            groups.append((group["sector"], group["value"], group["pl"], int(group["n"])))
        elif kind == "a":
            account = _json_row(first)
        elif kind == "e":
            existing.add((int(first), str(second)))
        else:
            fresh[str(first)] = int(second)
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
