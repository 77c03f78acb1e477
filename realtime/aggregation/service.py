"""The aggregation worker's handler: signals → trend windows → signal engine → next job.

A batch reads its signals and persists the signal engine outputs it has not stored yet;
the recommendation jobs are then published: with a ``rec_dedup_ttl_s`` deduplicated per
ticker (one Redis script, sent at once: ``SET NX EX`` + ``XADD``), else through the
consumer's ``Outbox`` (they go out with the batch's acknowledgement, no round trip of
their own). Then the trend windows are upserted, their history appended and the
projections written. On PostgreSQL (psycopg2) the batches run on one autocommit
connection the service keeps (``KeptConnection``: no pool check-out or check-in per
batch, no transaction to begin or commit): the read is a single round trip, and all
trend rows go in one statement (one data-modifying CTE per table, fed by one JSON
document), which the server runs as one transaction; both are server-side prepared
statements, prepared once per session and sent on the driver's cursor. The batch is
acknowledged after both, and every write is idempotent, so a crash in between loses
nothing."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.aggregation.signals import SignalCache, load_signals_batch
from realtime.aggregation.trend_rows import TrendRows
from realtime.aggregation.trends import WINDOWS, TrendWindowState, compute_windows
from realtime.kept_connection import KeptConnection
from realtime.market_data import BarStore
from realtime.messages import EvidenceRef, RecommendationJob
from realtime.signal_engine import SignalEngine, SignalOutput, Valuation, inputs_from_daily
from realtime.signal_engine.persistence import output_row, to_recommendation
from realtime.sql import conflict_insert, table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.models import Company
from stonks.models.recommendations import EvidenceKind
from stonks.models.signal_engine import SignalEngineOutput
from stonks.queues import Delivery, Outbox, Producer
from stonks.weighted_signals import (
    AggregationJob,
    SignalLayer,
    WeightedSignal,
)

logger = logging.getLogger(__name__)

LOOKBACK = max(length for length, _ in WINDOWS.values())
_KIND = {
    "document_impact_records": EvidenceKind.DOCUMENT_IMPACT.value,
    "macro_impact_records": EvidenceKind.MACRO_IMPACT.value,
    "competitive_signal_records": EvidenceKind.COMPETITIVE_SIGNAL.value,
}
_OUTPUT_KIND = EvidenceKind.SIGNAL_ENGINE_OUTPUT.value

#: KEYS: the stream, then one dedupe key per job. ARGV: the TTL, then per job its dedupe
#: value, its number of fields and the fields (name, value, ...). Per job, in order: SET
#: NX EX, and XADD only if the key was set. Returns the entry id or false per job.
_DEDUPE_PUBLISH = """
local ttl = ARGV[1]
local at = 2
local result = {}
for i = 2, #KEYS do
  local value = ARGV[at]
  local count = tonumber(ARGV[at + 1])
  local fields = {}
  for f = 1, count * 2 do
    fields[f] = ARGV[at + 1 + f]
  end
  at = at + 2 + count * 2
  if redis.call('SET', KEYS[i], value, 'NX', 'EX', ttl) then
    result[i - 1] = redis.call('XADD', KEYS[1], '*', unpack(fields))
  else
    result[i - 1] = false
  end
end
return result
"""


@dataclass(frozen=True)
class Fundamentals:
    """What the signal engine's filters need beyond bars; None means unknown."""

    valuation: Valuation | None = None
    next_earnings: date | None = None


class FundamentalsSource(Protocol):
    """Valuation and earnings calendar for a ticker as of a moment."""

    def get(self, ticker: str, as_of: datetime) -> Fundamentals: ...


class NoFundamentals:
    """The embedded default: no valuation or earnings feed, so both stay UNKNOWN."""

    def get(self, ticker: str, as_of: datetime) -> Fundamentals:
        return Fundamentals()


class FileFundamentals:
    """Valuation and next earnings date per ticker from a JSON file (``fundamentals_path``):
    ``{"AAPL": {"pe_ratio": 15.2, "sector_median_pe": 17.0, "next_earnings": "2010-10-18"}}``.
    Tickers absent from the file stay UNKNOWN."""

    def __init__(self, path: Path) -> None:
        raw = json.loads(path.read_text())
        self._by_ticker: dict[str, Fundamentals] = {}
        for ticker, item in raw.items():
            valuation = None
            if item.get("pe_ratio") is not None:
                valuation = Valuation(pe_ratio=float(item["pe_ratio"]),
                                      sector_median_pe=float(item.get("sector_median_pe")
                                                             or item["pe_ratio"]))
            earnings = item.get("next_earnings")
            self._by_ticker[ticker] = Fundamentals(
                valuation, date.fromisoformat(earnings) if earnings else None)

    def get(self, ticker: str, as_of: datetime) -> Fundamentals:
        return self._by_ticker.get(ticker, Fundamentals())


def fundamentals_from_settings(settings: Settings) -> FundamentalsSource:
    if settings.fundamentals_path is not None:
        return FileFundamentals(settings.fundamentals_path)
    return NoFundamentals()


@dataclass(frozen=True)
class _Staged:
    """One job after trend windows and the signal engine, before its output row is stored."""

    job: AggregationJob
    company_id: int
    sector: str | None
    signals: list[WeightedSignal]
    windows: list[TrendWindowState]
    output: SignalOutput


def _output_key(output: SignalOutput) -> tuple[str, datetime]:
    """The unique key of an output's ``signal_engine_outputs`` row."""
    return output.ticker, output.evaluated_at


@functools.lru_cache(maxsize=16)
def _output_upsert(dialect_name: str, keys: tuple[str, ...]) -> Any:
    """The upsert of output rows with ``keys``, returning (id, ticker, evaluated_at)."""
    table = table_of(SignalEngineOutput)
    insert = conflict_insert(dialect_name, table)
    return insert.on_conflict_do_update(
        index_elements=["ticker", "evaluated_at"],
        set_={k: insert.excluded[k] for k in keys if k not in ("ticker", "evaluated_at")},
    ).returning(table.c.id, table.c.ticker, table.c.evaluated_at)


class AggregationService:
    """Handles batches of AggregationJobs."""

    def __init__(
        self, db: Engine, client: redis.Redis, settings: Settings, *,
        bars: BarStore | None = None, fundamentals: FundamentalsSource | None = None,
        signal_engine: SignalEngine | None = None,
        macro_fallback: Callable[[str, datetime], float | None] | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self.bars = bars or BarStore()
        self.fundamentals = fundamentals or fundamentals_from_settings(settings)
        self.engine = signal_engine or SignalEngine(parallel=False)
        self.producer = Producer(client, redis_keys.QueueName.RECOMMENDATION)
        # Jobs published without a dedupe TTL ride on the consumer's next round trip.
        self.outbox = outbox or Outbox()
        self._dedupe_publish = client.register_script(_DEDUPE_PUBLISH)
        # PostgreSQL: a batch runs on an autocommit connection (see ``handle``), through
        # psycopg2 the one the service keeps.
        self._kept = KeptConnection(db) if KeptConnection.supports(db) else None
        self._autocommit: Engine | None = (
            db.execution_options(isolation_level="AUTOCOMMIT")
            if db.dialect.name == "postgresql" and self._kept is None else None)
        # Used only when the macro layer has no signal for the ticker (the demo's sample data).
        self.macro_fallback = macro_fallback
        self._companies: dict[str, tuple[int, str | None]] = {}
        # Technical evidence changes only with a new bar: cache outputs per bar and inputs.
        self._outputs: dict[tuple[Any, ...], SignalOutput] = {}
        # Row ids of committed outputs: a cached output is not upserted again.
        self._output_ids: dict[tuple[str, datetime], int] = {}
        self._drafts: dict[tuple[str, datetime, int], dict[str, Any]] = {}
        self._evidence_refs: dict[tuple[Any, ...], EvidenceRef] = {}
        self._signals = SignalCache()
        self._trend_rows = TrendRows()

    def close(self) -> None:
        """Close the signal engine and the kept connection."""
        self.engine.close()
        if self._kept is not None:
            self._kept.close()

    def handle(self, deliveries: Sequence[Delivery[AggregationJob]]) -> None:
        self._trend_rows.clear()
        with self._connect() as conn:
            # On PostgreSQL the connection is in autocommit mode: the read is one round
            # trip, an output upsert (when not cached) commits on its own, and the trend
            # writes below are one statement, run as one transaction.
            with self._transaction(conn):
                signals = load_signals_batch(conn, [
                    (d.message.ticker, d.message.as_of - LOOKBACK, d.message.as_of)
                    for d in deliveries], self._signals)
                staged = [self._stage(conn, d.message, found)
                          for d, found in zip(deliveries, signals, strict=True)]
                output_ids = self._store_outputs(conn, [s for s in staged if s is not None])
                jobs = [self._next_job(s, output_ids[_output_key(s.output)])
                        for s in staged if s is not None]
            # Only ids of committed rows may be reused by later batches.
            self._output_ids.update(output_ids)
            if len(self._output_ids) > 10_000:
                self._output_ids.clear()
            self.publish(jobs)
            # The trend rows are not on the way to a decision: with a dedupe TTL they are
            # written after the hand-off; without one the jobs wait in the outbox for the
            # consumer's next pipeline. The batch is acknowledged only after this commit:
            # a crash in between redelivers it, and every write above and here is
            # idempotent.
            with self._transaction(conn):
                self._trend_rows.write(conn)

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        if self._kept is not None:
            return self._kept.connection()
        if self._autocommit is not None:
            return self._autocommit.connect()
        return self.db.connect()

    @contextmanager
    def _transaction(self, conn: sa.Connection) -> Iterator[None]:
        """A transaction around the block's statements, except on the kept connection,
        where each statement commits on its own (the trend rows' one statement included):
        there only what SQLAlchemy began for a statement it ran (a company lookup, an
        output upsert) is ended, with no round trip."""
        if self._kept is None:
            with conn.begin():
                yield
            return
        try:
            yield
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            raise
        if conn.in_transaction():
            conn.commit()

    def publish(self, jobs: list[RecommendationJob]) -> None:
        """Publish the jobs whose ticker has no job in the last ``rec_dedup_ttl_s``.

        Without a TTL every job is handed to the ``Outbox``: inside the consumer's handler
        call it goes out with the batch's acknowledgement (no round trip of its own). With
        a TTL the dedupe (``SET NX EX`` per ticker) and the ``XADD`` of the fresh jobs
        happen in one script, sent now: one round trip, and a job is never published
        without its dedupe key nor its key set without the job being published.
        """
        if not jobs:
            return
        ttl = self.settings.rec_dedup_ttl_s
        if ttl <= 0:
            stream = self.producer.stream
            self.outbox.publish(self.client, [(stream, job.to_fields()) for job in jobs])
            return
        keys = [self.producer.stream]
        args: list[str | int] = [ttl]
        for job in jobs:
            fields = job.to_fields()
            keys.append(redis_keys.rec_dedup(job.ticker))
            args += [job.idempotency_key, len(fields)]
            for name, value in fields.items():
                args += [name, value]
        self._dedupe_publish(keys=keys, args=args)

    def _company(self, conn: sa.Connection, ticker: str) -> tuple[int, str | None] | None:
        cached = self._companies.get(ticker)
        if cached is None:
            table = table_of(Company)
            row = conn.execute(sa.select(table.c.id, table.c.sector).where(
                table.c.ticker == ticker)).first()
            if row is None:
                return None
            cached = self._companies[ticker] = (int(row.id), row.sector)
        return cached

    def _stage(self, conn: sa.Connection, job: AggregationJob,
               signals: list[WeightedSignal]) -> _Staged | None:
        """Trend windows (queued in ``TrendRows``) and the signal engine output of one job."""
        company = self._company(conn, job.ticker)
        if company is None:
            logger.warning("aggregation for unknown ticker dropped", extra={"ticker": job.ticker})
            return None
        company_id, sector = company
        as_of = job.as_of
        windows = compute_windows(signals, as_of)
        self._trend_rows.add(company_id, job.ticker, windows, as_of)
        by_label = {w.window_label: w for w in windows}
        macro = by_label["7d"].layer_scores.get(SignalLayer.MACRO.value)
        if macro is None and self.macro_fallback is not None:
            macro = self.macro_fallback(job.ticker, as_of)
        output = self._evaluate(job.ticker, as_of, macro, sector)
        if output is None:
            return None
        return _Staged(job, company_id, sector, signals, windows, output)

    def _store_outputs(self, conn: sa.Connection,
                       staged: Sequence[_Staged]) -> dict[tuple[str, datetime], int]:
        """Upsert the batch's signal engine outputs (each distinct one once); their ids."""
        ids: dict[tuple[str, datetime], int] = {}
        rows: dict[tuple[str, datetime], dict[str, Any]] = {}
        for s in staged:
            key = _output_key(s.output)
            known = self._output_ids.get(key)
            if known is not None:
                ids[key] = known
            elif key not in rows:
                rows[key] = output_row(s.output, s.company_id)
        if rows:
            statement = _output_upsert(conn.dialect.name, tuple(next(iter(rows.values()))))
            for row_id, ticker, evaluated_at in conn.execute(statement, list(rows.values())):
                ids[(ticker, evaluated_at)] = int(row_id)
        return ids

    def _next_job(self, staged: _Staged, output_id: int) -> RecommendationJob:
        job, output, signals, windows = staged.job, staged.output, staged.signals, staged.windows
        as_of = job.as_of
        by_label = {w.window_label: w for w in windows}
        key = f"rec:{job.ticker}:{as_of.isoformat()}"
        # The draft depends only on the (cached) output: build the model once per output.
        draft_key = (*_output_key(output), staged.company_id)
        base = self._drafts.get(draft_key)
        if base is None:
            if len(self._drafts) > 10_000:
                self._drafts.clear()
            base = self._drafts[draft_key] = to_recommendation(
                output, company_id=staged.company_id, idempotency_key=key,
            ).model_dump(mode="json", exclude={"id", "created_at", "updated_at"})
        draft = {**base, "idempotency_key": key, "signal_output_id": output_id}
        snap = self.bars.snapshot(job.ticker, as_of)
        evidence = [EvidenceRef.model_construct(
            kind=_OUTPUT_KIND, reference_id=output_id, layer=None, document_id=None,
            weight=0.0, published_at=None)]
        evidence += [self._evidence(s) for s in signals]
        return RecommendationJob(
            ticker=job.ticker, company_id=staged.company_id, as_of=as_of,
            origin_at=job.created_at, idempotency_key=key,
            draft=draft,
            trend={w.window_label: w.score for w in windows},
            trend_confidence=by_label["7d"].confidence,
            contradiction=any(w.contradiction for w in windows),
            last_bar_at=snap.bar_at if snap else None, last_price=snap.close if snap else None,
            avg_volume=snap.avg_volume_20 if snap else None, sector=staged.sector,
            evidence=evidence,
        )

    def _evidence(self, signal: WeightedSignal) -> EvidenceRef:
        """The evidence of one signal. A signal is read again by every job of its ticker
        within its windows: its (frozen) reference is built once and shared."""
        provenance = signal.provenance
        key = (provenance.table, provenance.record_id, provenance.document_id,
               signal.layer, signal.signed_strength, signal.event_time)
        ref = self._evidence_refs.get(key)
        if ref is None:
            if len(self._evidence_refs) > 50_000:
                self._evidence_refs.clear()
            # Built without validation: every value comes from a model already validated
            # (the signals' rows are checked by their tables' constraints) and has the
            # field's type.
            ref = self._evidence_refs[key] = EvidenceRef.model_construct(
                kind=_KIND[provenance.table], reference_id=provenance.record_id,
                layer=signal.layer.value, document_id=provenance.document_id,
                weight=signal.signed_strength, published_at=signal.event_time)
        return ref

    def _evaluate(
        self, ticker: str, as_of: datetime, macro: float | None, sector: str | None
    ) -> SignalOutput | None:
        daily = self.bars.daily(ticker)
        if daily is None:
            return None
        n = self.bars.count_until(ticker, as_of)
        fundamentals = self.fundamentals.get(ticker, as_of)
        key = (ticker, n, None if macro is None else round(macro, 2), fundamentals, sector,
               as_of.date())
        cached = self._outputs.get(key)
        if cached is not None:
            return cached
        inputs = inputs_from_daily(ticker, daily, valuation=fundamentals.valuation,
                                   macro_bias=macro, next_earnings=fundamentals.next_earnings,
                                   sector=sector)
        output = self.engine.evaluate(inputs, as_of, tick_id=f"agg-{ticker}-{n}")
        if len(self._outputs) > 10_000:
            self._outputs.clear()
        self._outputs[key] = output
        return output
