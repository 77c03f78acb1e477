# cython: language_level=3
"""Swing pivots (zigzag) and Fibonacci levels of the last swing."""

import numpy as np

cimport numpy as cnp

from signal_kernels._arrays cimport as_series, check_same_length
from signal_kernels._results import FibonacciLevels, Pivots
from signal_kernels._volatility import atr as _atr

cnp.import_array()

RETRACEMENT_RATIOS = (0.236, 0.382, 0.5, 0.618, 0.786)
EXTENSION_RATIOS = (1.272, 1.414, 1.618, 2.0, 2.618)


cdef inline double threshold_at(double pct, const double* abs_threshold, Py_ssize_t i,
                                double extreme) noexcept nogil:
    if abs_threshold != NULL:
        return abs_threshold[i]
    return pct * (extreme if extreme >= 0.0 else -extreme)


cdef Py_ssize_t zigzag_kernel(const double* high, const double* low, Py_ssize_t n,
                              double pct, const double* abs_threshold, long long* index,
                              double* price, signed char* kind) noexcept nogil:
    """Write pivots (confirmed ones, then the running extreme) and return their count.

    A swing high is confirmed once a low after it lies at least the threshold below it (a
    swing low symmetrically); the threshold is pct * |extreme| or abs_threshold[bar] at the
    confirming bar. Bars with a NaN high or low are skipped, a NaN threshold confirms
    nothing. After a confirmation the opposite extreme is the most extreme bar since the
    pivot, so no swing is lost to the bar that happened to cross the threshold.
    """
    cdef Py_ssize_t count = 0, i, j, hi_i = -1, lo_i = -1, lah_i = -1, hal_i = -1
    cdef double hi = 0.0, lo = 0.0, lah = 0.0, hal = 0.0, thr
    cdef int direction = 0
    for i in range(n):
        if not (high[i] == high[i] and low[i] == low[i]):
            continue
        if hi_i < 0:
            hi, hi_i, lo, lo_i = high[i], i, low[i], i
            continue
        # Running extreme of the swing being tracked, and the opposite extreme since it.
        if direction >= 0:
            if high[i] > hi:
                hi, hi_i, lah_i = high[i], i, -1
            elif lah_i < 0 or low[i] < lah:
                lah, lah_i = low[i], i
        if direction <= 0:
            if low[i] < lo:
                lo, lo_i, hal_i = low[i], i, -1
            elif hal_i < 0 or high[i] > hal:
                hal, hal_i = high[i], i
        if direction >= 0 and lah_i >= 0:
            thr = threshold_at(pct, abs_threshold, i, hi)
            if hi - lah >= thr:
                index[count], price[count], kind[count] = hi_i, hi, 1
                count += 1
                direction = -1
                lo, lo_i, hal_i = lah, lah_i, -1
                for j in range(lo_i + 1, i + 1):
                    if high[j] == high[j] and low[j] == low[j] and (hal_i < 0 or high[j] > hal):
                        hal, hal_i = high[j], j
                continue
        if direction <= 0 and hal_i >= 0:
            thr = threshold_at(pct, abs_threshold, i, lo)
            if hal - lo >= thr:
                index[count], price[count], kind[count] = lo_i, lo, -1
                count += 1
                direction = 1
                hi, hi_i, lah_i = hal, hal_i, -1
                for j in range(hi_i + 1, i + 1):
                    if high[j] == high[j] and low[j] == low[j] and (lah_i < 0 or low[j] < lah):
                        lah, lah_i = low[j], j
    if direction == 1:
        index[count], price[count], kind[count] = hi_i, hi, 1
        count += 1
    elif direction == -1:
        index[count], price[count], kind[count] = lo_i, lo, -1
        count += 1
    return count


def zigzag(high, low=None, *, threshold_pct=None, atr_multiple=None, close=None,
           Py_ssize_t atr_period=14):
    """Swing pivots: alternating highs and lows separated by a minimum reversal.

    Give exactly one of `threshold_pct` (e.g. 0.05 for a 5% reversal from the extreme) or
    `atr_multiple` (a reversal of k times ATR(atr_period) at the confirming bar; needs
    `close`). Swing highs are taken from `high`, lows from `low` (default: `high`, for a
    single price series). Returns `Pivots`; the last one is the unconfirmed extreme of the
    swing in progress.
    """
    if (threshold_pct is None) == (atr_multiple is None):
        raise ValueError("give exactly one of threshold_pct or atr_multiple")
    cdef cnp.ndarray h = as_series(high, "high")
    cdef cnp.ndarray lo = h if low is None else as_series(low, "low")
    cdef Py_ssize_t n = check_same_length(h, lo, "high", "low")
    cdef double pct = 0.0
    cdef cnp.ndarray thr = None
    cdef const double* pthr = NULL
    if threshold_pct is not None:
        pct = float(threshold_pct)
        if not pct > 0.0:
            raise ValueError(f"threshold_pct must be > 0, got {threshold_pct}")
    else:
        if close is None:
            raise ValueError("atr_multiple needs close prices for the ATR")
        if not float(atr_multiple) > 0.0:
            raise ValueError(f"atr_multiple must be > 0, got {atr_multiple}")
        thr = np.multiply(_atr(h, lo, close, atr_period), float(atr_multiple))
        pthr = <const double*>cnp.PyArray_DATA(thr)
    cdef cnp.ndarray index = np.empty(n + 1, dtype=np.int64)
    cdef cnp.ndarray price = np.empty(n + 1, dtype=np.float64)
    cdef cnp.ndarray kind = np.empty(n + 1, dtype=np.int8)
    cdef Py_ssize_t count
    with nogil:
        count = zigzag_kernel(<const double*>cnp.PyArray_DATA(h),
                              <const double*>cnp.PyArray_DATA(lo), n, pct, pthr,
                              <long long*>cnp.PyArray_DATA(index),
                              <double*>cnp.PyArray_DATA(price),
                              <signed char*>cnp.PyArray_DATA(kind))
    confirmed = np.ones(count, dtype=np.bool_)
    if count:
        confirmed[count - 1] = False
    return Pivots(index=index[:count].copy(), price=price[:count].copy(),
                  kind=kind[:count].copy(), confirmed=confirmed)


def fibonacci_levels(pivots, *, bint confirmed_only=True):
    """Fibonacci retracements and extensions of the last swing between two pivots.

    By default the swing is the last one whose end is confirmed; with
    `confirmed_only=False` it ends at the running extreme. None if there is no such swing.
    """
    cdef Py_ssize_t n = len(pivots)
    cdef Py_ssize_t end = n - 1
    if confirmed_only:
        while end >= 0 and not pivots.confirmed[end]:
            end -= 1
    if end < 1:
        return None
    start_price = float(pivots.price[end - 1])
    end_price = float(pivots.price[end])
    span = end_price - start_price
    return FibonacciLevels(
        start_index=int(pivots.index[end - 1]),
        end_index=int(pivots.index[end]),
        start_price=start_price,
        end_price=end_price,
        direction=1 if span > 0 else -1,
        retracements={r: end_price - r * span for r in RETRACEMENT_RATIOS},
        extensions={r: start_price + r * span for r in EXTENSION_RATIOS},
    )
