"""The broker's write-ahead intents: the ``orders`` rows written before any broker call.

It holds what ``BrokerService`` reads and writes of an order before placing it: the rows
already written for a batch's client_order_ids (``read_refs``), the outcome of risk and
approval for one order (``Gated``), and the commit of a batch's gated intents with their
events and risk evaluations (``write_intents``), through SQLAlchemy on any dialect or, on
PostgreSQL through psycopg2, as the prepared ``stonks_broker_read`` (the rows and the
account as the gates see it, ``read_batch_pg``) and ``stonks_broker_intents`` (fed JSON
documents) statements, one round trip each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.messages import BrokerOrderJob
from realtime.prepared import PreparedStatement, document, execute_prepared
from realtime.risk.portfolio import (
    PORTFOLIO_COLUMNS_PG,
    PORTFOLIO_SNAPSHOT_PG,
    PortfolioState,
    portfolio_from_pg,
)
from realtime.sql import insert_ignore_many, insert_statement, table_of
from stonks.models.orders import Order, OrderEvent, OrderStatus
from stonks.models.risk import RiskEvaluation


@dataclass(frozen=True)
class Ref:
    """What placing needs of an order row that exists already."""

    id: int
    status: OrderStatus
    quantity: Decimal | None
    limit_price: Decimal | None
    approved_by: str | None


@dataclass
class Gated:
    """The outcome of risk and approval for one order: its status, the events of our own
    to record after ``intent`` (key, type, status after, payload) and the evaluation row."""

    status: OrderStatus
    evaluation: dict[str, Any]
    events: list[tuple[str, str, OrderStatus, dict[str, Any]]] = field(default_factory=list)
    reject_reason: str | None = None
    submitted_at: datetime | None = None



@functools.cache
def _refs_query() -> sa.Select[Any]:
    o = table_of(Order)
    return sa.select(o.c.id, o.c.client_order_id, o.c.status, o.c.quantity, o.c.limit_price,
                     o.c.approved_by).where(
        o.c.client_order_id.in_(sa.bindparam("cids", expanding=True)))


_INTENT_COLUMNS = (
    "client_order_id", "broker_account_id", "decision_id", "ticker", "side", "order_type",
    "time_in_force", "quantity", "notional", "limit_price", "source", "status",
    "requires_approval", "reject_reason", "submitted_at", "raw", "filled_quantity", "fees",
)

_INTENT_TYPES = (
    ("client_order_id", "text"), ("broker_account_id", "bigint"), ("decision_id", "bigint"),
    ("ticker", "text"), ("side", "text"), ("order_type", "text"), ("time_in_force", "text"),
    ("quantity", "numeric"), ("notional", "numeric"), ("limit_price", "numeric"),
    ("source", "text"), ("status", "text"), ("requires_approval", "boolean"),
    ("reject_reason", "text"), ("submitted_at", "timestamptz"), ("raw", "json"),
    ("filled_quantity", "numeric"), ("fees", "numeric"),
)
assert tuple(c for c, _ in _INTENT_TYPES) == _INTENT_COLUMNS

#: The intents of a batch in one statement (PostgreSQL), fed by three JSON documents
#: (arrays of rows, each row an array): $1 the orders (a client_order_id that exists is
#: left alone and returns nothing); for the rows inserted, $2 their events in order
#: (client_order_id, key, type, status after, occurred at, payload; ``intent`` first) and
#: $3 their risk evaluations (client_order_id, approved, checks, reasons, evaluated at).
_INTENTS_PG = f"""
WITH ins AS (
    INSERT INTO orders ({", ".join(_INTENT_COLUMNS)})
    SELECT {", ".join(f"r->{n}" if t == "json" else f"(r->>{n})::{t}"
                      for n, (_, t) in enumerate(_INTENT_TYPES))}
    FROM json_array_elements($1) AS r
    ON CONFLICT (client_order_id) DO NOTHING
    RETURNING id, client_order_id
), ev AS (
    INSERT INTO order_events (order_id, event_key, event_type, status_after, occurred_at,
                              payload)
    SELECT ins.id, e.r->>1, e.r->>2, e.r->>3, (e.r->>4)::timestamptz, e.r->5
    FROM json_array_elements($2) WITH ORDINALITY AS e(r, n)
    JOIN ins ON ins.client_order_id = e.r->>0
    ORDER BY e.n
    ON CONFLICT (order_id, event_key) DO NOTHING
), ev2 AS (
    INSERT INTO risk_evaluations (scope, order_id, approved, checks, reasons, evaluated_at)
    SELECT 'order', ins.id, (r->>1)::boolean, r->2, r->3, (r->>4)::timestamptz
    FROM json_array_elements($3) AS r
    JOIN ins ON ins.client_order_id = r->>0
)
SELECT id, client_order_id FROM ins"""


def _read_statement() -> PreparedStatement:
    """The orders already written for client_order_ids ($2) and the account ($1) as the
    gates see it, in one row (no account: its columns null)."""
    name = "stonks_broker_read"
    prepare = f"""
PREPARE {name}(bigint, text[]) AS
SELECT {PORTFOLIO_COLUMNS_PG},
       (SELECT json_agg(json_build_array(o.id, o.client_order_id, o.status, o.quantity::text,
                                         o.limit_price::text, o.approved_by))
        FROM orders o WHERE o.client_order_id = ANY($2))
FROM (SELECT $1 AS id) k
LEFT JOIN broker_accounts a ON a.id = k.id
{PORTFOLIO_SNAPSHOT_PG}"""
    return PreparedStatement(name, prepare, f"EXECUTE {name}(%(account)s, %(cids)s)")


_READ = _read_statement()
_INTENTS = PreparedStatement(
    "stonks_broker_intents",
    f"PREPARE stonks_broker_intents(json, json, json) AS {_INTENTS_PG}",
    "EXECUTE stonks_broker_intents(%s, %s, %s)")


def read_refs(conn: sa.Connection, cids: list[str]) -> dict[str, Ref]:
    """The orders already written for ``cids``, by client_order_id (any dialect)."""
    return {str(cid): _ref(i, status, quantity, limit, approved_by) for i, cid, status, quantity,
            limit, approved_by in conn.execute(_refs_query(), {"cids": cids})}


def read_batch_pg(conn: sa.Connection, account_id: int, cids: list[str],
                  ) -> tuple[dict[str, Ref], PortfolioState | None]:
    """``read_refs`` and the account as ``load_portfolio`` reads it (None when there is no
    such account), in one round trip (PostgreSQL through psycopg2, ``conn`` in
    autocommit)."""
    [row] = execute_prepared(conn, _READ, {"account": account_id, "cids": cids})
    refs = {str(cid): _ref(i, status, quantity, limit, approved_by)
            for i, cid, status, quantity, limit, approved_by in row[-1] or ()}
    return refs, None if row[0] is None else portfolio_from_pg(account_id, row[:-1])


def _ref(order_id: Any, status: str, quantity: Any, limit: Any, approved_by: Any) -> Ref:
    return Ref(int(order_id), OrderStatus(status),
               None if quantity is None else Decimal(quantity),
               None if limit is None else Decimal(limit), approved_by)


def write_intents(db: Engine, conn: sa.Connection, account_id: int,
                  new: list[tuple[BrokerOrderJob, Gated]], again: list[tuple[int, Gated]],
                  *, fast_pg: bool) -> dict[str, int]:
    """Commit the gated intents: the new orders (once per client_order_id, already at
    the status risk gave them) with their ``intent`` and gate events and risk
    evaluations, and the gate of ``intent`` rows left by an earlier attempt. The ids of
    the new rows this call inserted, by client_order_id. (``fast_pg``: ``conn`` is on
    PostgreSQL through psycopg2, in autocommit.)"""
    if fast_pg and not again:
        return write_intents_pg(conn, account_id, new)
    if fast_pg:  # ``conn`` is in autocommit: this write needs a transaction
        with db.begin() as tx:
            return write_intents_tx(tx, account_id, new, again)
    ids = write_intents_tx(conn, account_id, new, again)
    conn.commit()
    return ids


def write_intents_tx(conn: sa.Connection, account_id: int,
                     new: list[tuple[BrokerOrderJob, Gated]],
                     again: list[tuple[int, Gated]]) -> dict[str, int]:
    """``write_intents`` as statements in the caller's transaction (any dialect)."""
    o = table_of(Order)
    ids: dict[str, int] = {}
    if new:
        ids = {str(cid): int(i) for i, cid in conn.execute(
            insert_statement(conn, o).on_conflict_do_nothing(
                index_elements=["client_order_id"]).returning(o.c.id, o.c.client_order_id),
            [_intent_row(account_id, job, gated) for job, gated in new])}
    for order_id, gated in again:
        conn.execute(sa.update(o).where(o.c.id == order_id).values(
            status=gated.status.value, reject_reason=gated.reject_reason,
            requires_approval=gated.status is OrderStatus.PENDING_APPROVAL,
            submitted_at=gated.submitted_at))
    gates = [(ids[job.client_order_id], gated, True) for job, gated in new
             if job.client_order_id in ids]
    gates += [(order_id, gated, False) for order_id, gated in again]
    events: list[dict[str, Any]] = []
    for order_id, gated, is_new in gates:
        at = gated.evaluation["evaluated_at"]
        steps: list[tuple[str, str, OrderStatus, dict[str, Any]]] = (
            [("intent", "intent", OrderStatus.INTENT, {})] if is_new else [])
        events += [{"order_id": order_id, "event_key": key, "event_type": kind,
                    "status_after": status.value, "occurred_at": at, "payload": payload}
                   for key, kind, status, payload in [*steps, *gated.events]]
    insert_ignore_many(conn, table_of(OrderEvent), events, ["order_id", "event_key"])
    if gates:
        conn.execute(sa.insert(table_of(RiskEvaluation)), [
            {**gated.evaluation, "order_id": order_id} for order_id, gated, _ in gates])
    return ids


def write_intents_pg(conn: sa.Connection, account_id: int,
                     new: list[tuple[BrokerOrderJob, Gated]]) -> dict[str, int]:
    """``write_intents`` on PostgreSQL: one prepared statement (the orders, their events
    and risk evaluations through data-modifying CTEs), committed on its own
    (autocommit), so the write and its commit are one round trip."""
    if not new:
        return {}
    orders: list[list[Any]] = []
    events: list[list[Any]] = []
    evaluations: list[list[Any]] = []
    for job, gated in new:
        row = _intent_row(account_id, job, gated)
        orders.append([row[c] for c in _INTENT_COLUMNS])
        cid = job.client_order_id
        evaluation = gated.evaluation
        at = evaluation["evaluated_at"]
        events += [[cid, key, kind, status.value, at, payload] for key, kind, status, payload
                   in [("intent", "intent", OrderStatus.INTENT, {}), *gated.events]]
        evaluations.append([cid, evaluation["approved"], evaluation["checks"],
                            evaluation["reasons"], at])
    rows = execute_prepared(conn, _INTENTS, (document(orders), document(events),
                                             document(evaluations)))
    return {str(cid): int(i) for i, cid in rows}


def _intent_row(account_id: int, job: BrokerOrderJob, gated: Gated) -> dict[str, Any]:
    """The ``orders`` row of a new order, at the status risk gave it."""
    return {
        "client_order_id": job.client_order_id, "broker_account_id": account_id,
        "decision_id": job.decision_id, "ticker": job.ticker, "side": job.side.value,
        "order_type": job.order_type.value, "time_in_force": "day",
        "quantity": job.quantity, "notional": job.notional, "limit_price": job.limit_price,
        "source": job.source.value, "status": gated.status.value,
        "requires_approval": gated.status is OrderStatus.PENDING_APPROVAL,
        "reject_reason": gated.reject_reason, "submitted_at": gated.submitted_at,
        "filled_quantity": Decimal(0), "fees": Decimal(0),
        "raw": {"origin_at": job.origin_at.isoformat(), "as_of": job.as_of.isoformat(),
                "sector": job.exits.get("sector"), "exits": job.exits,
                "reference_price": str(job.reference_price)},
    }

