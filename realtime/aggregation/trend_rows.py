"""A batch's trend rows: the current windows, their history and projections, written at once.

Each job of a batch queues the rows of its ticker's windows; ``write`` sends them all with
``write_together`` (one prepared statement on the aggregation's PostgreSQL session) and
starts the next batch empty. Rows are tuples in the order of their table's keys below, not
dictionaries: they are turned column by column into one JSON document, and a window's row
serves as both its ``trend_windows`` and its ``trend_history`` row (sent once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from realtime.aggregation.trends import WINDOWS, TrendWindowState, project
from realtime.sql import BulkWrite, table_of, write_together
from stonks.models.trends import TrendHistory, TrendProjection, TrendWindow

PROJECTION_HORIZONS = {"1d": timedelta(days=1), "5d": timedelta(days=5)}
_TREND_WINDOWS = table_of(TrendWindow)
_TREND_HISTORY = table_of(TrendHistory)
_TREND_PROJECTIONS = table_of(TrendProjection)
#: The columns of a window's row (in ``trend_windows`` and ``trend_history``).
WINDOW_KEYS = ("company_id", "ticker", "window_label", "score", "direction", "confidence",
               "signal_count", "layer_scores", "contradiction", "contradiction_score",
               "last_signal_at", "computed_at")
_COMPUTED_AT = WINDOW_KEYS.index("computed_at")
#: The columns of a projection's row.
PROJECTION_KEYS = ("company_id", "ticker", "window_label", "horizon", "projected_score",
                   "projected_direction", "confidence", "method", "computed_at",
                   "projected_for", "inputs")


def _projected_direction(score: float) -> str:
    return "bullish" if score >= 0.15 else "bearish" if score <= -0.15 else "neutral"


class TrendRows:
    """The trend rows of the batch being handled, newest computation per key."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._projections: dict[tuple[str, str, str], tuple[Any, ...]] = {}

    def clear(self) -> None:
        self._windows, self._projections = {}, {}

    def add(self, company_id: int, ticker: str, windows: list[TrendWindowState],
            as_of: datetime) -> None:
        """Queue the rows of one ticker's windows as of ``as_of``."""
        computed_at = as_of.astimezone(UTC)
        # One timestamp object per horizon for all windows: each is converted once.
        horizons = [(horizon_label, horizon, computed_at + horizon)
                    for horizon_label, horizon in PROJECTION_HORIZONS.items()]
        for w in windows:
            label = w.window_label
            # The newest computation of a (ticker, window) wins within a batch: a burst of
            # jobs for one ticker leaves one history row per batch, not one per job.
            earlier = self._windows.get((ticker, label))
            if earlier is not None and earlier[_COMPUTED_AT] > computed_at:
                continue
            self._windows[(ticker, label)] = (
                company_id, ticker, label, w.score, w.direction.value, w.confidence,
                w.signal_count, w.layer_scores, w.contradiction, w.contradiction_score,
                w.last_signal_at, computed_at)
            # One object for both horizons: it is converted once.
            inputs = {"score": w.score, "signals": w.signal_count}
            half_life = WINDOWS[label][1]
            for horizon_label, horizon, projected_for in horizons:
                score, confidence = project(w, horizon, half_life)
                self._projections[(ticker, label, horizon_label)] = (
                    company_id, ticker, label, horizon_label, score,
                    _projected_direction(score), confidence, "half_life_decay", computed_at,
                    projected_for, inputs)

    def write(self, conn: sa.Connection) -> None:
        """Upsert the windows, append their history and the projections; then start empty."""
        windows = list(self._windows.values())
        write_together(conn, [
            BulkWrite(_TREND_WINDOWS, windows, ("ticker", "window_label"), update=True,
                      keys=WINDOW_KEYS),
            BulkWrite(_TREND_HISTORY, windows, ("ticker", "window_label", "computed_at"),
                      update=False, keys=WINDOW_KEYS),
            BulkWrite(_TREND_PROJECTIONS, list(self._projections.values()),
                      ("ticker", "window_label", "horizon", "computed_at"), update=False,
                      keys=PROJECTION_KEYS),
        ])
        self.clear()
