"""Typed result objects returned by the kernels (plain Python, documented in the stubs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class IndicatorSet(NamedTuple):
    """The six indicators of one series, as returned by `indicators_all`."""

    sma: FloatArray
    ema: FloatArray
    rsi: FloatArray
    atr: FloatArray
    macd: FloatArray
    macd_signal: FloatArray
    macd_hist: FloatArray
    bb_upper: FloatArray
    bb_middle: FloatArray
    bb_lower: FloatArray


@dataclass(frozen=True, slots=True)
class Pivots:
    """Alternating swing highs and lows found by `zigzag`, oldest first.

    `kind` is +1 for a swing high and -1 for a swing low. Every pivot is confirmed (price
    reversed from it by the threshold) except possibly the last, the extreme of the swing
    still in progress; `confirmed` says which.
    """

    index: IntArray
    price: FloatArray
    kind: npt.NDArray[np.int8]
    confirmed: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.index.shape[0])


@dataclass(frozen=True, slots=True)
class FibonacciLevels:
    """Retracement and extension levels of one swing from `start_price` to `end_price`.

    Retracement r sits at end - r * (end - start); extension r at start + r * (end - start)
    (so 1.618 projects 161.8% of the swing from its start). `direction` is +1 for an up
    swing, -1 for a down swing.
    """

    start_index: int
    end_index: int
    start_price: float
    end_price: float
    direction: int
    retracements: dict[float, float]
    extensions: dict[float, float]


@dataclass(frozen=True, slots=True)
class CupAndHandle:
    """A cup-and-handle base: bar indices of its landmarks and a quality score in [0, 1].

    The cup runs from the left rim through the bottom to the right rim; the handle is the
    shallow pullback after the right rim, ending at `handle_end` (the last bar before a
    breakout above `breakout_level`, or the last bar of the data). `depth` is the cup depth
    as a fraction of the rim price; `handle_depth` the handle's, as a fraction of the cup.
    """

    left_rim: int
    bottom: int
    right_rim: int
    handle_low: int
    handle_end: int
    breakout_level: float
    depth: float
    handle_depth: float
    quality: float


@dataclass(frozen=True, slots=True)
class ElliottWave:
    """An Elliott impulse count over the latest pivots.

    `pivot_index` holds the bar indices of the impulse's start and of each completed wave's
    end (2 to 6 entries). `wave` is the wave in progress (1-5), or 5 with `complete` True
    when the fifth wave has ended. `direction` is +1 for a bullish impulse, -1 bearish.
    `confidence` in [0, 1] grows with the number of waves that fit and with how close the
    wave proportions are to the usual Fibonacci guidelines.
    """

    direction: int
    wave: int
    complete: bool
    pivot_index: tuple[int, ...]
    confidence: float


class ResampledBars(NamedTuple):
    """OHLCV bars aggregated to a coarser timeframe.

    `timestamp` is each bucket's start in UTC epoch nanoseconds (intraday buckets: the
    bucket's first instant; D, W, M: 00:00 America/New_York of the period's first day).
    `bar_count` is the number of input bars in the bucket.
    """

    timestamp: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    bar_count: IntArray
