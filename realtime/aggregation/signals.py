"""The WeightedSignals of a whole batch of aggregation jobs, in one query for all layers.

A batch of aggregation jobs reads every ticker of the batch over the union of the
jobs' windows and hands each job the signals of its own ticker and window, in the same
order as ``load_weighted_signals`` returns them.

On PostgreSQL (psycopg2) with a connection in autocommit mode, the aggregation worker's,
the query is a server-side prepared statement (``realtime.prepared``): planning the three
joined selects costs more than running them. Elsewhere it is the SQLAlchemy statement.
There a ``SignalCache`` may keep the signals built from a ticker's rows: each job of a
ticker reads the same rows again until a new signal arrives.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from realtime.prepared import PreparedStatement, execute_prepared, is_psycopg2
from realtime.sql_prepared import uses_prepared
from stonks.models.types import UTCDateTime
from stonks.weighted_signals import (
    SignalLayer,
    WeightedSignal,
    load_weighted_signals_for,
    signals_from_rows,
    signals_query,
)

#: (ticker, since, until) of one job.
Window = tuple[str, datetime, datetime]

#: The statement's parameters, in the order of its ``$n``.
_PARAMETERS = ("tickers", "since", "until")
_PARAMETER_TYPES = ("text[]", "timestamptz", "timestamptz")


@functools.lru_cache(maxsize=16)
def _prepared_signals(layers: tuple[SignalLayer, ...], dialect: Dialect) -> PreparedStatement:
    """``signals_query`` as ``PREPARE``/``EXECUTE`` text for psycopg2 (pyformat)."""
    text = str(signals_query(layers, ticker_array=True).compile(dialect=dialect))
    for position, name in enumerate(_PARAMETERS, start=1):
        placeholder = f"%({name})s"
        if placeholder not in text:
            raise RuntimeError(f"signals query without the {name!r} parameter")
        text = text.replace(placeholder, f"${position}")
    if "%(" in text:
        raise RuntimeError("signals query with an unexpected parameter")
    name = f"rt_agg_signals_{'_'.join(layer.value for layer in layers)}"
    types = ", ".join(_PARAMETER_TYPES)
    return PreparedStatement(
        name=name,
        # Compiled for a driver that doubles '%'; PREPARE's text goes unprocessed.
        prepare=f"PREPARE {name}({types}) AS {text.replace('%%', '%')}",
        execute=f"EXECUTE {name}(%(tickers)s, %(since)s, %(until)s)",
    )


_TIMESTAMP = UTCDateTime()
#: The ticker's position in a row of ``signals_query`` (as ``signals_from_rows`` reads it).
_TICKER = 1


class SignalCache:
    """The signals built from each set of a ticker's rows seen lately (rows are compared
    whole, so a changed or new row is built afresh); the signals are frozen models."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._by_rows: dict[tuple[tuple[Any, ...], ...], list[WeightedSignal]] = {}

    def signals(self, rows: Sequence[tuple[Any, ...]]) -> dict[str, list[WeightedSignal]]:
        """``signals_from_rows(rows)``, from the cache where the rows were seen before."""
        per_ticker: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            per_ticker.setdefault(row[_TICKER], []).append(row)
        found = {}
        for ticker, own in per_ticker.items():
            key = tuple(own)
            signals = self._by_rows.get(key)
            if signals is None:
                if len(self._by_rows) >= self._limit:
                    self._by_rows.clear()
                signals = self._by_rows[key] = signals_from_rows(own)[ticker]
            found[ticker] = list(signals)
        return found


def _load(conn: sa.Connection, tickers: list[str], since: datetime, until: datetime,
          cache: SignalCache | None) -> dict[str, list[WeightedSignal]]:
    if not (is_psycopg2(conn) and uses_prepared(conn)):
        return load_weighted_signals_for(conn, tickers, since=since, until=until)
    # What the column type does to a bound value on the SQLAlchemy path: an aware
    # datetime, in UTC (a naive one is refused).
    params: dict[str, Any] = {
        "tickers": tickers,
        "since": _TIMESTAMP.process_bind_param(since, conn.dialect),
        "until": _TIMESTAMP.process_bind_param(until, conn.dialect),
    }
    rows = execute_prepared(conn, _prepared_signals(tuple(SignalLayer), conn.dialect), params)
    return signals_from_rows(rows) if cache is None else cache.signals(rows)


def load_signals_batch(conn: sa.Connection, windows: Sequence[Window],
                       cache: SignalCache | None = None) -> list[list[WeightedSignal]]:
    """For each window, the signals of its ticker published in ``[since, until]``."""
    if not windows:
        return []
    tickers = sorted({ticker for ticker, _, _ in windows})
    since = min(w[1] for w in windows)
    until = max(w[2] for w in windows)
    by_ticker = _load(conn, tickers, since, until, cache)
    if len(windows) == 1:
        return [by_ticker.get(windows[0][0], [])]  # the one window is the whole read
    return [[s for s in by_ticker.get(ticker, ()) if lo <= s.event_time <= hi]
            for ticker, lo, hi in windows]
