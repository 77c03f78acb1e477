"""The WeightedSignals of a whole batch of aggregation jobs, in one query per layer.

A batch of aggregation jobs reads every ticker of the batch over the union of the
jobs' windows and hands each job the signals of its own ticker and window, in the same
order as ``load_weighted_signals`` returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from stonks.weighted_signals import WeightedSignal, load_weighted_signals_for

#: (ticker, since, until) of one job.
Window = tuple[str, datetime, datetime]


def load_signals_batch(conn: sa.Connection,
                       windows: Sequence[Window]) -> list[list[WeightedSignal]]:
    """For each window, the signals of its ticker published in ``[since, until]``."""
    if not windows:
        return []
    tickers = sorted({ticker for ticker, _, _ in windows})
    since = min(w[1] for w in windows)
    until = max(w[2] for w in windows)
    by_ticker = load_weighted_signals_for(conn, tickers, since=since, until=until)
    return [[s for s in by_ticker.get(ticker, ()) if lo <= s.event_time <= hi]
            for ticker, lo, hi in windows]
