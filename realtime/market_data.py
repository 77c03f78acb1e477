"""Daily bars as the real-time tier reads them: per ticker, cut at a moment (no look-ahead).

The embedded default serves the bundled sample bars; production would plug a bar feed in
behind the same ``BarStore`` interface.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.normalizer import daily_bars_from_dates
from stonks.universe import load_daily_bars


@dataclass(frozen=True)
class BarSnapshot:
    """The newest final bar of a ticker at a moment, with liquidity context."""

    ticker: str
    bar_at: datetime
    close: float
    high: float
    low: float
    volume: float
    avg_volume_20: float


class BarStore:
    """Daily bars per ticker, loaded lazily once per process."""

    def __init__(self, bars: dict[str, Bars] | None = None) -> None:
        self._bars = bars
        self._lock = threading.Lock()
        self._returns: dict[tuple[str, int, int], np.ndarray | None] = {}
        self._snapshots: dict[tuple[str, int], BarSnapshot | None] = {}
        self._stamps: dict[str, list[int]] = {}

    def _all(self) -> dict[str, Bars]:
        if self._bars is None:
            with self._lock:
                if self._bars is None:
                    loaded = load_daily_bars(None)
                    self._bars = {
                        t: daily_bars_from_dates(b.dates, b.open, b.high, b.low, b.close,
                                                 b.volume)
                        for t, b in loaded.items()
                    }
        return self._bars

    def daily(self, ticker: str) -> Bars | None:
        return self._all().get(ticker)

    def count_until(self, ticker: str, moment: datetime | int) -> int:
        """How many of ``ticker``'s bars were final at ``moment`` (a datetime or epoch
        seconds; ``Bars.count_until`` by bisection on a plain list: the trading gates ask
        for every held ticker on every decision)."""
        stamps = self._stamps.get(ticker)
        if stamps is None:
            bars = self.daily(ticker)
            if bars is None:
                return 0
            stamps = self._stamps[ticker] = [int(t) for t in bars.timestamps]
        at = moment if isinstance(moment, int) else int(moment.timestamp())
        return bisect.bisect_right(stamps, at)

    def unchanged_span(self, tickers: Iterable[str], at: int) -> tuple[float, float]:
        """The epoch seconds [start, end) around ``at`` in which no bar of ``tickers``
        becomes final: ``count_until`` (so ``returns``) gives every one of them the same
        answer throughout."""
        start, end = -math.inf, math.inf
        for ticker in tickers:
            self.count_until(ticker, at)
            stamps = self._stamps.get(ticker)
            if not stamps:
                continue
            n = bisect.bisect_right(stamps, at)
            if n:
                start = max(start, stamps[n - 1])
            if n < len(stamps):
                end = min(end, stamps[n])
        return start, end

    def close(self, ticker: str, moment: datetime | int) -> float | None:
        """The close of the last bar final at ``moment`` (what ``snapshot`` would give as
        ``close``, without the rest of the snapshot)."""
        bars = self.daily(ticker)
        n = self.count_until(ticker, moment)
        if bars is None or n == 0:
            return None
        return float(bars.close[n - 1])

    def snapshot(self, ticker: str, moment: datetime) -> BarSnapshot | None:
        """The last bar final at ``moment`` (None when there is none); built once per bar
        (the bars are loaded once per process)."""
        n = self.count_until(ticker, moment)
        key = (ticker, n)
        if key not in self._snapshots:
            self._snapshots[key] = self._snapshot(ticker, n)
        return self._snapshots[key]

    def _snapshot(self, ticker: str, n: int) -> BarSnapshot | None:
        bars = self.daily(ticker)
        if bars is None or n == 0:
            return None
        i = n - 1
        return BarSnapshot(
            ticker=ticker,
            bar_at=datetime.fromtimestamp(int(bars.timestamps[i]), UTC),
            close=float(bars.close[i]),
            high=float(bars.high[i]),
            low=float(bars.low[i]),
            volume=float(bars.volume[i]),
            avg_volume_20=float(np.mean(bars.volume[max(0, n - 20):n])),
        )

    def returns(self, ticker: str, moment: datetime | int,
                lookback: int = 60) -> np.ndarray | None:
        """Daily close-to-close returns of the ``lookback`` sessions before ``moment``."""
        n = self.count_until(ticker, moment)
        key = (ticker, n, lookback)
        if key not in self._returns:
            bars = self.daily(ticker)
            if bars is None or n < lookback + 1:
                self._returns[key] = None
            else:
                close = bars.close[n - lookback - 1:n]
                self._returns[key] = np.asarray(np.diff(close) / close[:-1], dtype=np.float64)
        return self._returns[key]
