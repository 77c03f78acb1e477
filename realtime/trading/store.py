"""What the trading engine reads and writes for a batch: one round trip each on PostgreSQL.

The read brings the account (balances, newest snapshot, tier, reserve), its open positions,
the batch's recommendations and any decision already recorded under the batch's decision
keys (a redelivered or re-polled trade) in one statement. The write inserts the decisions
and marks the recommendations of the acting ones ``acted`` in one statement (a
data-modifying CTE), so one commit records both: a redelivered recommendation whose job
never reached the broker queue finds its decision in the read, whatever its status, and
the engine hands the same job over again.

On PostgreSQL (psycopg2) the statements run on one connection the store keeps (detached
from the pool), in autocommit mode, so each commits on its own (no BEGIN or COMMIT round
trip) and no pool check-out, check-in or isolation-level switch is paid per statement.
They are prepared once per connection (planning them costs more than running them) and
take JSON or array parameters, so one prepared statement serves every batch size. A
connection found broken is replaced and the statement sent once more: the read has no
effect, and the writes are idempotent (a decision key recorded already is left alone, and
so is its recommendation; ``acted`` stays ``acted``).

SQLite (embedded) and other drivers run the same steps as SQLAlchemy statements: the reads
on one connection, each write in its own transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from realtime.kept_connection import GENERIC_PLANS, KeptConnection
from realtime.prepared import PreparedStatement, document
from realtime.risk.limits import current_tier
from realtime.risk.portfolio import (
    PORTFOLIO_COLUMNS_PG,
    PORTFOLIO_SNAPSHOT_PG,
    HeldPosition,
    PortfolioState,
    load_portfolio,
    portfolio_state,
)
from realtime.sql import insert_statement, table_of
from stonks.models.orders import DecisionOutcome, TradingDecision
from stonks.models.recommendations import Recommendation, RecommendationStatus


@dataclass(frozen=True, slots=True)
class RecommendationRow:
    """The columns of a recommendation the engine decides on."""

    id: int
    status: str
    action: str
    ticker: str
    confidence: float
    probability: float | None
    payoff_ratio: float | None
    entry_price: Decimal | None
    stop_loss: Decimal | None
    company_id: int | None
    targets: list[Any]
    sector: Any
    trailing_stop: Any


@dataclass(frozen=True, slots=True)
class RecordedDecision:
    """A decision already in ``trading_decisions`` (what a re-decided trade re-publishes)."""

    id: int
    outcome: str
    quantity: Decimal | None
    reference_price: Decimal | None

    @property
    def acted(self) -> bool:
        return self.outcome == DecisionOutcome.ACT.value


@dataclass(frozen=True)
class BatchInputs:
    """Everything one batch's decisions read from the database."""

    portfolio: PortfolioState
    recommendations: list[RecommendationRow]
    recorded: dict[str, RecordedDecision]


class DecisionStore:
    """Reads a batch's inputs and records its decisions for one broker account.

    Safe to share between threads (the consumer and the worker's periodic duties): the
    kept connection is used by one thread at a time."""

    def __init__(self, db: Engine, account_id: int) -> None:
        self.db = db
        self.account_id = account_id
        # Its read is planned once (without, the server re-planned it on most runs).
        self._kept = (KeptConnection(db, settings=GENERIC_PLANS) if KeptConnection.supports(db)
                      else None)
        self._positions = _HeldPositions()

    def close(self) -> None:
        """Close the kept connection."""
        if self._kept is not None:
            self._kept.close()

    # ---- reading -------------------------------------------------------------------------

    def read(self, recommendation_ids: Sequence[int],
             decision_keys: Sequence[str]) -> BatchInputs:
        """The account, the recommendations ``recommendation_ids`` and the decisions
        recorded under ``decision_keys``, as of one moment."""
        if self._kept is not None:
            [row] = self._run(_READ, {"account": self.account_id,
                                      "ids": list(recommendation_ids),
                                      "keys": list(decision_keys)})
            return _inputs_from_row(self.account_id, row, self._positions)
        with self.db.connect() as conn:
            portfolio = load_portfolio(conn, self.account_id)
            recs = _read_recommendations(conn, recommendation_ids)
            recorded = _read_recorded(conn, decision_keys)
        return BatchInputs(portfolio, recs, recorded)

    def recorded(self, decision_keys: Sequence[str]) -> dict[str, RecordedDecision]:
        """The decisions recorded under ``decision_keys`` (after a lost insert race)."""
        with self.db.connect() as conn:
            return _read_recorded(conn, decision_keys)

    def initial_tier(self, initial: str) -> str:
        """The account's tier when the read found none: records ``initial`` (once)."""
        with self.db.begin() as conn:
            return current_tier(conn, self.account_id, initial)

    # ---- writing -------------------------------------------------------------------------

    def write(self, rows: Sequence[dict[str, Any]], now: datetime) -> dict[str, int]:
        """Insert the decision ``rows`` unless their key is recorded already, and mark the
        recommendations of the inserted acting ones ``acted``, in one commit (done on
        return); the ids of the new rows by decision key (a key missing from it was
        recorded by someone else)."""
        if not rows:
            return {}
        if self._kept is not None:
            payload = document([{**row, "n": n} for n, row in enumerate(rows)])
            return {str(key): int(i) for i, key in self._run(
                _WRITE, {"rows": payload, "now": now})}
        t, r = table_of(TradingDecision), table_of(Recommendation)
        with self.db.begin() as conn:
            inserted = {str(key): int(i) for i, key in conn.execute(
                _insert_ignore_returning(conn, t),
                [{**row, "created_at": now} for row in rows])}
            acted = [row["recommendation_id"] for row in rows
                     if row["decision_key"] in inserted and row["recommendation_id"] is not None
                     and row["outcome"] == DecisionOutcome.ACT.value]
            if acted:
                conn.execute(_mark_acted_update(r, acted, now))
        return inserted

    def mark_acted(self, recommendation_ids: Sequence[int], now: datetime) -> None:
        """Set the status of the recommendations ``recommendation_ids`` to ``acted`` (those
        whose acting decision was recorded without it: by an engine that marked them after
        the hand-off and stopped in between)."""
        if not recommendation_ids:
            return
        if self._kept is not None:
            self._run(_MARK_ACTED, {"ids": list(recommendation_ids), "now": now})
            return
        with self.db.begin() as conn:
            conn.execute(_mark_acted_update(table_of(Recommendation), recommendation_ids, now))

    def _run(self, statement: PreparedStatement, params: dict[str, Any]) -> list[Any]:
        """The rows of ``statement`` on the kept connection; every statement here is safe
        to send again (a read, an insert that skips recorded keys, a status update), so
        once more on a fresh connection when the connection broke."""
        assert self._kept is not None
        return self._kept.run(statement, params, retry=True)


# ---- the portable path ---------------------------------------------------------------------


def _insert_ignore_returning(conn: sa.Connection, table: sa.Table) -> Any:
    """Multi-row INSERT … ON CONFLICT (decision_key) DO NOTHING RETURNING id, decision_key."""
    return (insert_statement(conn, table).on_conflict_do_nothing(index_elements=["decision_key"])
            .returning(table.c.id, table.c.decision_key))


def _mark_acted_update(r: sa.Table, ids: Sequence[int], now: datetime) -> Any:
    return sa.update(r).where(r.c.id.in_(list(ids))).values(
        status=RecommendationStatus.ACTED.value, updated_at=now)


@functools.cache
def _recommendations_query() -> sa.Select[Any]:
    r = table_of(Recommendation)
    return sa.select(r.c.id, r.c.status, r.c.action, r.c.ticker, r.c.confidence,
                     r.c.probability, r.c.payoff_ratio, r.c.entry_price, r.c.stop_loss,
                     r.c.company_id, r.c.targets, r.c.details).where(
        r.c.id.in_(sa.bindparam("ids", expanding=True)))


@functools.cache
def _recorded_query() -> sa.Select[Any]:
    d = table_of(TradingDecision)
    return sa.select(d.c.decision_key, d.c.id, d.c.outcome, d.c.quantity,
                     d.c.reference_price).where(
        d.c.decision_key.in_(sa.bindparam("keys", expanding=True)))


def _read_recommendations(conn: sa.Connection,
                          ids: Sequence[int]) -> list[RecommendationRow]:
    if not ids:
        return []
    out = []
    for row in conn.execute(_recommendations_query(), {"ids": list(ids)}):
        details = row.details or {}
        out.append(RecommendationRow(
            int(row.id), str(row.status), str(row.action), row.ticker, float(row.confidence),
            row.probability, row.payoff_ratio,
            None if row.entry_price is None else Decimal(row.entry_price),
            None if row.stop_loss is None else Decimal(row.stop_loss),
            row.company_id, list(row.targets or []), details.get("sector"),
            details.get("trailing_stop")))
    return out


def _read_recorded(conn: sa.Connection, keys: Sequence[str]) -> dict[str, RecordedDecision]:
    if not keys:
        return {}
    return {str(row.decision_key): RecordedDecision(
        int(row.id), str(row.outcome), _decimal(row.quantity), _decimal(row.reference_price))
        for row in conn.execute(_recorded_query(), {"keys": list(keys)})}


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


# ---- the PostgreSQL path -------------------------------------------------------------------


class _HeldPositions:
    """The open positions from the read's rows (ticker, quantity, value, sector). A
    ``HeldPosition`` whose row did not change since the batch before is reused (a fill
    changes one position, not forty), and the whole dictionary when no row changed (the
    ``PortfolioState``s share it; nothing changes it)."""

    def __init__(self) -> None:
        # One tuple, replaced whole: threads sharing the store never see a mixed state.
        self._last: tuple[list[Any], dict[str, HeldPosition],
                          dict[tuple[Any, ...], HeldPosition]] = ([], {}, {})

    def parse(self, positions: list[Any] | None) -> dict[str, HeldPosition]:
        positions = positions or []
        last_rows, held, by_row = self._last
        if positions == last_rows:
            return held
        rows: dict[tuple[Any, ...], HeldPosition] = {}
        for ticker, quantity, value, sector in positions:
            row = (ticker, quantity, value, sector)
            rows[row] = by_row.get(row) or HeldPosition(ticker, Decimal(quantity),
                                                        Decimal(value), sector)
        held = {p.ticker: p for p in rows.values()}
        self._last = (positions, held, rows)
        return held


def _inputs_from_row(account_id: int, row: Any, positions: _HeldPositions) -> BatchInputs:
    (name, cash, equity, reconciliation, snapshot_id, day_pl, drawdown, high_water_mark,
     tier, reserve, held, recs, recorded) = row
    portfolio = portfolio_state(
        account_id, name=name, cash=cash, equity=equity, reconciliation_status=reconciliation,
        positions=positions.parse(held), snapshot_id=snapshot_id, day_pl=day_pl,
        drawdown=drawdown, high_water_mark=high_water_mark, tier=tier, reserve=reserve)
    # Numbers travel as text inside the JSON (exact decimals; floats as PostgreSQL prints
    # them, which round-trips), so they come back as the driver would give them.
    rows = [RecommendationRow(
        int(r[0]), r[1], r[2], r[3], float(r[4]), _float(r[5]), _float(r[6]),
        _decimal(r[7]), _decimal(r[8]), r[9], list(r[10] or []), r[11], r[12])
        for r in recs or ()]
    decisions = {d[0]: RecordedDecision(int(d[1]), d[2], _decimal(d[3]), _decimal(d[4]))
                 for d in recorded or ()}
    return BatchInputs(portfolio, rows, decisions)


def _read_statement() -> PreparedStatement:
    name = "stonks_trading_read"
    prepare = f"""
PREPARE {name}(bigint, bigint[], text[]) AS
SELECT {PORTFOLIO_COLUMNS_PG},
       (SELECT json_agg(json_build_array(
                   r.id, r.status, r.action, r.ticker, r.confidence::text,
                   r.probability::text, r.payoff_ratio::text, r.entry_price::text,
                   r.stop_loss::text, r.company_id, r.targets, r.details -> 'sector',
                   r.details -> 'trailing_stop'))
        FROM recommendations r WHERE r.id = ANY($2)),
       (SELECT json_agg(json_build_array(
                   d.decision_key, d.id, d.outcome, d.quantity::text, d.reference_price::text))
        FROM trading_decisions d WHERE d.decision_key = ANY($3))
FROM broker_accounts a {PORTFOLIO_SNAPSHOT_PG}
WHERE a.id = $1
"""
    return PreparedStatement(name, prepare,
                             f"EXECUTE {name}(%(account)s, %(ids)s::bigint[], %(keys)s::text[])")


def _write_statement() -> PreparedStatement:
    name = "stonks_trading_write"
    t = table_of(TradingDecision)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = [c.name for c in t.columns if c.name not in ("id", "created_at")]
    record = ", ".join(f"{c} {t.c[c].type.compile(dialect=dialect)}" for c in columns)
    # The acted recommendations are marked in the same statement (so the same commit) as
    # their decisions are recorded: by the inserted rows only, so a decision a concurrent
    # decider recorded first (and marked itself) is left alone. ``= ANY(ARRAY(…))`` keeps
    # the update an index lookup whatever the planner guesses of the inserted rows.
    prepare = f"""
PREPARE {name}(json, timestamptz) AS
WITH inserted AS (
    INSERT INTO trading_decisions ({", ".join(columns)}, created_at)
    SELECT {", ".join(columns)}, $2
    FROM json_to_recordset($1) AS b(n integer, {record}) ORDER BY n
    ON CONFLICT (decision_key) DO NOTHING
    RETURNING id, decision_key, recommendation_id, outcome
), acted AS (
    UPDATE recommendations SET status = '{RecommendationStatus.ACTED.value}', updated_at = $2
    WHERE id = ANY(ARRAY(SELECT recommendation_id FROM inserted
                         WHERE outcome = '{DecisionOutcome.ACT.value}'
                           AND recommendation_id IS NOT NULL))
)
SELECT id, decision_key FROM inserted
"""
    return PreparedStatement(name, prepare, f"EXECUTE {name}(%(rows)s, %(now)s)")


def _mark_acted_statement() -> PreparedStatement:
    name = "stonks_trading_mark_acted"
    prepare = f"""
PREPARE {name}(bigint[], timestamptz) AS
UPDATE recommendations SET status = '{RecommendationStatus.ACTED.value}', updated_at = $2
WHERE id = ANY($1)
"""
    return PreparedStatement(name, prepare, f"EXECUTE {name}(%(ids)s::bigint[], %(now)s)")


_READ = _read_statement()
_WRITE = _write_statement()
_MARK_ACTED = _mark_acted_statement()
