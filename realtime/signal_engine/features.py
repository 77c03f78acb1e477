"""Adapters from bar panels to the features the signals read, through ``signal_kernels``.

This is the one place the engine touches the kernels. A panel holds every ticker of one
timeframe bars-major (``(n_bars, n_tickers)``, leading NaN for short histories), so one
batch call computes the indicators of all tickers. Where a kernel is not exported yet the
function of the same concept in ``interim_kernels`` stands in (see ``kernel_status()``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from realtime.signal_engine import interim_kernels
from realtime.signal_engine.contracts import FloatArray, Timeframe

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]

MA_PERIODS = (10, 20, 50, 100, 200)
RSI_PERIOD = 14
ATR_PERIOD = 14
TAIL = 40  # bars of RSI/close history the divergence check reads
MIN_BARS = 30  # fewer bars than this and a timeframe is UNKNOWN for the ticker
TRAIL_LOOKBACK = 22  # chandelier exit: highest high of about a month of bars
CUP_SPAN = 60
ZIGZAG_ATR_MULTIPLE = 2.0
ZIGZAG_MIN_PCT = 0.01


def _load_kernels() -> Any:
    try:
        return importlib.import_module("signal_kernels")
    except ImportError:  # the package is being built; interim stand-ins cover everything
        return None


_KERNELS = _load_kernels()


def _kernel(name: str, private_module: str | None = None) -> Callable[..., Any] | None:
    """The public kernel ``name``; until ``signal_kernels/__init__.py`` exports it, the same
    function from its compiled private module (INTERIM: drop ``private_module`` then)."""
    found = getattr(_KERNELS, name, None) if _KERNELS is not None else None
    if found is None and private_module is not None:
        try:
            found = getattr(importlib.import_module(private_module), name, None)
        except ImportError:
            found = None
    return found if callable(found) else None


_BATCH = _kernel("batch_indicators", "signal_kernels._batch")
_ALLOCATE = _kernel("allocate_batch_outputs", "signal_kernels._batch")


def kernel_status() -> dict[str, str]:
    """Which concept runs on signal_kernels and which on an interim NumPy stand-in."""
    return {
        "indicators (rsi, atr)": "signal_kernels.batch_indicators" if _BATCH else "interim",
        "swing pivots (zigzag)": "interim",
        "cup & handle": "interim",
        "elliott wave": "interim",
        "ma stack (last values)": "numpy mean of the last k closes",
    }


@dataclass(frozen=True, slots=True, eq=False)
class Panel:
    """One timeframe's bars for every ticker of a batch, bars-major, newest row last."""

    timeframe: Timeframe
    high: FloatArray
    low: FloatArray
    close: FloatArray
    lengths: IntArray  # valid (non-padded) bars per ticker; 0 = no bars (UNKNOWN)

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
    pivot_price: FloatArray  # (n, PIVOT_SLOTS), newest last
    pivot_kind: IntArray  # +1 high, -1 low, 0 empty
    leg_extreme: FloatArray
    leg_direction: IntArray
    recent_high: FloatArray  # highest high of the last TRAIL_LOOKBACK bars
    cup_quality: FloatArray
    cup_rim: FloatArray
    elliott_wave: IntArray
    elliott_confidence: FloatArray


class KernelWorkspace:
    """Reusable kernel output buffers keyed by panel shape (no allocation per tick)."""

    def __init__(self) -> None:
        self._outputs: dict[tuple[int, int], Any] = {}

    def batch_outputs(self, n_bars: int, n_series: int) -> Any:
        key = (n_bars, n_series)
        found = self._outputs.get(key)
        if found is None and _ALLOCATE is not None:
            found = _ALLOCATE(n_bars, n_series)
            self._outputs[key] = found
        return found


def _rsi_atr(panel: Panel, workspace: KernelWorkspace) -> tuple[FloatArray, FloatArray]:
    n_bars, n_series = panel.close.shape
    if _BATCH is not None and n_bars > 34:
        out = workspace.batch_outputs(n_bars, n_series)
        _BATCH(panel.high, panel.low, panel.close, out, rsi_period=RSI_PERIOD,
               atr_period=ATR_PERIOD)
        return out.rsi, out.atr
    return (
        interim_kernels.wilder_rsi(panel.close, RSI_PERIOD),
        interim_kernels.wilder_atr(panel.high, panel.low, panel.close, ATR_PERIOD),
    )


def compute_features(panel: Panel, workspace: KernelWorkspace) -> TimeframeFeatures:
    """Every feature of one timeframe for all tickers of the panel, causally."""
    close_panel = panel.close
    n_bars = close_panel.shape[0]
    rsi, atr = _rsi_atr(panel, workspace)
    close = close_panel[-1]
    atr_last = atr[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        natr = atr[-min(100, n_bars):] / close_panel[-min(100, n_bars):]
        natr_mean = _nanmean0(natr)
        natr_ratio = natr[-1] / natr_mean
        moving_averages = np.stack(
            [close_panel[-p:].mean(axis=0) if p <= n_bars else np.full_like(close, np.nan)
             for p in MA_PERIODS],
            axis=1,
        )
        trend_slope = (
            close_panel[-20:].mean(axis=0) / close_panel[-25:-5].mean(axis=0) - 1.0
            if n_bars >= 25
            else np.full_like(close, np.nan)
        )
    pivot_price, _, pivot_kind, leg_extreme, leg_direction = interim_kernels.zigzag_pivots(
        panel.high, panel.low, atr, ZIGZAG_ATR_MULTIPLE, ZIGZAG_MIN_PCT
    )
    span = min(CUP_SPAN, n_bars)
    cup_quality, cup_rim = interim_kernels.cup_and_handle(close_panel, span)
    elliott_wave, elliott_confidence = interim_kernels.elliott_position(
        pivot_price, pivot_kind, leg_direction
    )
    tail = min(TAIL, n_bars)
    return TimeframeFeatures(
        timeframe=panel.timeframe,
        available=(panel.lengths >= MIN_BARS) & np.isfinite(close),
        close=close,
        atr=atr_last,
        natr_ratio=natr_ratio,
        moving_averages=moving_averages,
        trend_slope=trend_slope,
        rsi_tail=rsi[-tail:],
        close_tail=close_panel[-tail:],
        pivot_price=pivot_price,
        pivot_kind=pivot_kind,
        leg_extreme=leg_extreme,
        leg_direction=leg_direction,
        recent_high=_nanmax0(panel.high[-min(TRAIL_LOOKBACK, n_bars):]),
        cup_quality=cup_quality,
        cup_rim=cup_rim,
        elliott_wave=elliott_wave,
        elliott_confidence=elliott_confidence,
    )


def _nanmean0(values: FloatArray) -> FloatArray:
    """Column means ignoring NaN (NaN for an all-NaN column), without NumPy's warning."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _nanmax0(values: FloatArray) -> FloatArray:
    """Column maxima ignoring NaN (NaN for an all-NaN column), without NumPy's warning."""
    filled = np.where(np.isfinite(values), values, -np.inf).max(axis=0)
    return np.where(np.isfinite(filled), filled, np.nan)
