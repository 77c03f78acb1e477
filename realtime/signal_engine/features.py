"""Adapters from bar panels to the features the signals read, through ``signal_kernels``.

This is the one place the engine touches the kernels. A panel holds every ticker of one
timeframe bars-major (``(n_bars, n_tickers)``, leading NaN for short histories), so one
``batch_indicators`` call computes RSI, ATR and SMA20 of all tickers; swings, patterns and
the moving-average stack come from the batch kernels through ``structure``.

A ``KernelWorkspace`` keeps the kernel output buffers and, per timeframe, the previous
tick's panel and features. A ticker whose bars (every value of its window) are unchanged
reuses its previous structure row; a timeframe where no ticker changed reuses its features
whole. Any change to a ticker's window - a new bar, a revised bar, the window sliding -
recomputes that ticker, so the cache never serves a result its current bars would not give.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from realtime.signal_engine import structure as st
from realtime.signal_engine.contracts import FloatArray, Timeframe
from signal_kernels import BatchOutputs, allocate_batch_outputs, batch_indicators

if TYPE_CHECKING:
    from realtime.signal_engine.signals.reading import SignalReading

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]

MA_PERIODS = st.MA_PERIODS
RSI_PERIOD = 14
ATR_PERIOD = st.ATR_PERIOD
SLOPE_PERIOD = 20  # trend slope: SMA20 change over SLOPE_BARS bars
SLOPE_BARS = 5
TAIL = 40  # bars of RSI/close history the divergence check reads
MIN_BARS = 30  # fewer bars than this and a timeframe is UNKNOWN for the ticker
MIN_PANEL_ROWS = 64  # batch_indicators needs MACD's lookback of rows
VOLATILITY_WINDOW = 100  # bars of ATR/close the volatility ratio compares against
_CAPACITY_STEP = 64  # batch output buffers grow in steps of this many rows
#: The arrays of signal_kernels.BatchOutputs (its constructor's keyword arguments).
BATCH_OUTPUT_NAMES = ("sma", "ema", "rsi", "atr", "macd", "macd_signal", "macd_hist",
                      "bb_upper", "bb_middle", "bb_lower")


def kernel_status() -> dict[str, str]:
    """Which signal_kernels function computes each concept (there are no stand-ins left)."""
    return {
        "rsi, atr, sma20, sma50": "signal_kernels.batch_indicators",
        "moving averages 10, 100, 200": "signal_kernels.last_sma_batch",
        "swing pivots": "signal_kernels.zigzag_batch",
        "fibonacci": "signal_kernels.fibonacci_levels",
        "elliott wave": "signal_kernels.elliott_wave",
        "cup & handle": "signal_kernels.find_cup_and_handle",
        "trailing high": "signal_kernels.rolling_max",
        "resampling D -> W, M": "signal_kernels.resample_bars",
    }


@dataclass(frozen=True, slots=True, eq=False)
class Panel:
    """One timeframe's bars for every ticker of a batch, bars-major, newest row last."""

    timeframe: Timeframe
    high: FloatArray
    low: FloatArray
    close: FloatArray
    lengths: IntArray  # valid (non-padded) bars per ticker; 0 = no bars (UNKNOWN)
    tickers: tuple[str, ...] = ()  # column names, when known: lets the workspace reuse rows

    @property
    def n_tickers(self) -> int:
        return int(self.close.shape[1])


@dataclass(frozen=True, slots=True, eq=False)
class TimeframeFeatures:
    """Per-ticker features of one timeframe; every array's first axis is the ticker."""

    timeframe: Timeframe
    available: npt.NDArray[np.bool_]
    close: FloatArray
    atr: FloatArray
    natr_ratio: FloatArray  # current ATR/close against its window mean: > 1.5 is stormy
    moving_averages: FloatArray  # (n, 5): last SMA 10/20/50/100/200, NaN when too short
    trend_slope: FloatArray  # SMA20 change over 5 bars, relative
    rsi_tail: FloatArray  # (TAIL, n) bars-major
    close_tail: FloatArray  # (TAIL, n) bars-major
    structure: FloatArray  # (n, structure.ROW_WIDTH): see the properties below

    def _column(self, index: int) -> FloatArray:
        return np.asarray(self.structure[:, index])

    @property
    def pivot_price(self) -> FloatArray:
        """(n, PIVOT_SLOTS) confirmed pivot prices, newest last, NaN for empty slots."""
        return np.asarray(self.structure[:, st.PIVOT_PRICE : st.PIVOT_PRICE + st.PIVOT_SLOTS])

    @property
    def pivot_kind(self) -> IntArray:
        """(n, PIVOT_SLOTS): +1 swing high, -1 swing low, 0 empty slot."""
        kinds = self.structure[:, st.PIVOT_KIND : st.PIVOT_KIND + st.PIVOT_SLOTS]
        return np.nan_to_num(kinds).astype(np.int64)

    @property
    def leg_extreme(self) -> FloatArray:
        return self._column(st.LEG_EXTREME)

    @property
    def leg_direction(self) -> IntArray:
        return np.nan_to_num(self._column(st.LEG_DIRECTION)).astype(np.int64)

    @property
    def swing_low(self) -> FloatArray:
        """Low end of the last confirmed swing (signal_kernels.fibonacci_levels)."""
        return self._column(st.FIB_LOW)

    @property
    def swing_high(self) -> FloatArray:
        return self._column(st.FIB_HIGH)

    @property
    def swing_direction(self) -> IntArray:
        """+1 the last confirmed swing rose, -1 it fell, 0 fewer than two pivots."""
        return np.nan_to_num(self._column(st.FIB_DIRECTION)).astype(np.int64)

    @property
    def fib_extensions(self) -> FloatArray:
        """(n, 5) extension levels of the last swing, ascending ratio."""
        return np.asarray(
            self.structure[:, st.FIB_EXTENSION : st.FIB_EXTENSION + st.FIB_EXTENSIONS]
        )

    @property
    def recent_high(self) -> FloatArray:
        """Highest high of the last TRAIL_LOOKBACK bars (daily timeframe only, else NaN)."""
        return self._column(st.RECENT_HIGH)

    @property
    def cup_quality(self) -> FloatArray:
        return self._column(st.CUP_QUALITY)

    @property
    def cup_rim(self) -> FloatArray:
        return self._column(st.CUP_RIM)

    @property
    def elliott_wave(self) -> IntArray:
        return np.nan_to_num(self._column(st.ELLIOTT_WAVE)).astype(np.int64)

    @property
    def elliott_confidence(self) -> FloatArray:
        return np.nan_to_num(self._column(st.ELLIOTT_CONFIDENCE))


@dataclass(slots=True, eq=False)
class _Previous:
    """A timeframe's last panel (a private copy) and the features computed from it."""

    tickers: tuple[str, ...]
    high: FloatArray
    low: FloatArray
    close: FloatArray
    lengths: IntArray
    features: TimeframeFeatures


class KernelWorkspace:
    """Kernel output buffers keyed by panel shape, and the previous tick per timeframe."""

    def __init__(self) -> None:
        # Keyed by timeframe too: timeframes may be computed concurrently (see gather).
        self._outputs: dict[tuple[Timeframe, int, int], BatchOutputs] = {}
        self._capacity: dict[tuple[Timeframe, int], tuple[int, dict[str, FloatArray]]] = {}
        self._previous: dict[Timeframe, _Previous] = {}
        self.swings = st.SwingCache()
        self._readings: dict[tuple[Timeframe, int], tuple[TimeframeFeatures, SignalReading]] = {}
        self._structure_buffers: dict[Timeframe, st.StructureBuffers] = {}
        self._lock = threading.Lock()
        self.rows_computed = 0  # structure rows recomputed so far (for tests and benchmarks)

    def batch_outputs(self, timeframe: Timeframe, n_bars: int, n_series: int) -> BatchOutputs:
        """Output buffers for an ``(n_bars, n_series)`` panel of ``timeframe``.

        A daily panel grows by a row a day until it reaches the bars window, so buffers are
        allocated with spare rows and handed out as views of their newest rows: a new panel
        height costs a few views, not ten fresh megabyte arrays (and no buffer per height
        is kept forever).
        """
        key = (timeframe, n_bars, n_series)
        found = self._outputs.get(key)
        if found is not None:
            return found
        capacity, buffers = self._capacity.get((timeframe, n_series), (0, {}))
        if capacity < n_bars:
            capacity = -(-n_bars // _CAPACITY_STEP) * _CAPACITY_STEP
            base = allocate_batch_outputs(capacity, n_series)
            buffers = {name: getattr(base, name) for name in BATCH_OUTPUT_NAMES}
            self._capacity[(timeframe, n_series)] = (capacity, buffers)
        found = BatchOutputs(**{name: buffers[name][capacity - n_bars :]
                                for name in BATCH_OUTPUT_NAMES})
        for stale in [k for k in self._outputs if k[0] is timeframe and k[2] == n_series]:
            del self._outputs[stale]
        self._outputs[key] = found
        return found

    def structure_buffers(self, timeframe: Timeframe) -> st.StructureBuffers:
        """Kernel buffers of the structure rows; per timeframe, as timeframes run
        concurrently (see gather)."""
        with self._lock:
            return self._structure_buffers.setdefault(timeframe, st.StructureBuffers())

    def unchanged(self, panel: Panel) -> tuple[npt.NDArray[np.bool_], _Previous | None]:
        """Per ticker: is its whole window identical to the previous tick's?"""
        previous = self._previous.get(panel.timeframe)
        n = panel.n_tickers
        if (
            previous is None or not panel.tickers or previous.tickers != panel.tickers
            or previous.close.shape != panel.close.shape
        ):
            return np.zeros(n, dtype=bool), None
        same = previous.lengths == panel.lengths
        for old, new in ((previous.close, panel.close), (previous.high, panel.high),
                         (previous.low, panel.low)):
            # Bitwise, so NaN padding compares equal to NaN padding.
            new_bits = np.ascontiguousarray(new, dtype=np.float64).view(np.int64)
            same &= (old.view(np.int64) == new_bits).all(axis=0)
        return same, previous

    def reading(self, features: TimeframeFeatures, signal: int) -> SignalReading | None:
        """The reading signal #``signal`` gave on these very features, if it was kept."""
        kept = self._readings.get((features.timeframe, signal))
        return kept[1] if kept is not None and kept[0] is features else None

    def keep_reading(self, features: TimeframeFeatures, signal: int,
                     reading: SignalReading) -> None:
        self._readings[(features.timeframe, signal)] = (features, reading)

    def count_rows(self, computed: int) -> None:
        with self._lock:
            self.rows_computed += computed

    def remember(self, panel: Panel, features: TimeframeFeatures) -> None:
        if panel.tickers:
            self._previous[panel.timeframe] = _Previous(
                panel.tickers, _frozen(panel.high), _frozen(panel.low), _frozen(panel.close),
                panel.lengths.copy(), features,
            )


def _frozen(values: FloatArray) -> FloatArray:
    """``values`` made read-only (copied unless it owns its C-contiguous data).

    The workspace compares the next tick's panel against this one; freezing instead of
    copying saves megabytes of copying per tick, and an in-place edit of a panel the engine
    has seen then raises instead of silently matching itself.
    """
    if values.base is not None or not values.flags.c_contiguous or values.dtype != np.float64:
        values = np.array(values, dtype=np.float64, order="C")
    values.flags.writeable = False
    return values


def _padded(values: FloatArray, rows: int) -> FloatArray:
    """``values`` with leading NaN rows up to ``rows`` (as C-contiguous float64)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.shape[0] >= rows:
        return values
    pad = np.full((rows - values.shape[0], values.shape[1]), np.nan)
    return np.ascontiguousarray(np.vstack([pad, values]))


def compute_features(panel: Panel, workspace: KernelWorkspace) -> TimeframeFeatures:
    """Every feature of one timeframe for all tickers of the panel, causally."""
    same, previous = workspace.unchanged(panel)
    if previous is not None and bool(same.all()):
        return previous.features
    high = _padded(panel.high, MIN_PANEL_ROWS)
    low = _padded(panel.low, MIN_PANEL_ROWS)
    close_panel = _padded(panel.close, MIN_PANEL_ROWS)
    n_bars, n_series = close_panel.shape
    out = workspace.batch_outputs(panel.timeframe, n_bars, n_series)
    # The batch's Bollinger middle band is an SMA: with bb_period=50 it is the stack's SMA50.
    batch_indicators(high, low, close_panel, out, sma_period=SLOPE_PERIOD, bb_period=50,
                     rsi_period=RSI_PERIOD, atr_period=ATR_PERIOD)
    rsi, atr, sma20 = out.rsi, out.atr, out.sma
    close = close_panel[-1]
    available = (panel.lengths >= MIN_BARS) & np.isfinite(close)
    rows = _structure(panel, available, same, previous, workspace)
    rows[:, st.MA + 1] = np.where(available, sma20[-1], np.nan)
    rows[:, st.MA + 2] = np.where(available, out.bb_middle[-1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        window = min(VOLATILITY_WINDOW, n_bars)
        natr = atr[-window:] / close_panel[-window:]
        natr_ratio = natr[-1] / _nanmean0(natr)
        trend_slope = sma20[-1] / sma20[-1 - SLOPE_BARS] - 1.0
    tail = min(TAIL, n_bars)
    features = TimeframeFeatures(
        timeframe=panel.timeframe,
        available=available,
        close=close,
        atr=atr[-1].copy(),
        natr_ratio=natr_ratio,
        moving_averages=rows[:, st.MA : st.MA + len(MA_PERIODS)],
        trend_slope=trend_slope,
        rsi_tail=rsi[-tail:].copy(),  # the kernel buffers are reused next tick
        close_tail=close_panel[-tail:],
        structure=rows,
    )
    workspace.remember(panel, features)
    return features


def _structure(
    panel: Panel, available: npt.NDArray[np.bool_], same: npt.NDArray[np.bool_],
    previous: _Previous | None, workspace: KernelWorkspace,
) -> FloatArray:
    """Structure rows: reused for unchanged tickers, recomputed (one batch) for the rest."""
    n = panel.n_tickers
    rows = np.empty((n, st.ROW_WIDTH))
    rows[:] = st.EMPTY_ROW
    if previous is not None:
        rows[same] = previous.features.structure[same]
    todo = np.flatnonzero(available & ~same)
    if todo.size:
        rows[todo] = st.structure_rows(
            np.ascontiguousarray(panel.high, dtype=np.float64),
            np.ascontiguousarray(panel.low, dtype=np.float64),
            np.ascontiguousarray(panel.close, dtype=np.float64),
            np.ascontiguousarray(panel.lengths, dtype=np.int64), todo,
            workspace.structure_buffers(panel.timeframe), workspace.swings,
            trailing_high=panel.timeframe is Timeframe.D,  # only the daily exits read it
        )
        workspace.count_rows(int(todo.size))
    return rows


def _nanmean0(values: FloatArray) -> FloatArray:
    """Column means ignoring NaN (NaN for an all-NaN column), without NumPy's warning."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
