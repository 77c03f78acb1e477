# cython: language_level=3
"""Moving-average stack alignment (10/20/50/100/200 by default)."""

import numpy as np

cimport numpy as cnp

from signal_kernels._arrays cimport as_series, check_period
from signal_kernels._moving_averages import ema as _ema
from signal_kernels._moving_averages import sma as _sma

cnp.import_array()


cdef void stack_score_kernel(const double* mas, Py_ssize_t k, Py_ssize_t n,
                             double* out) noexcept nogil:
    """Mean over MA pairs (shorter i, longer j) of sign(MA_i - MA_j); NaN if any MA is NaN."""
    cdef Py_ssize_t t, i, j
    cdef double score, a, b, pairs = k * (k - 1) / 2.0
    for t in range(n):
        score = 0.0
        for i in range(k):
            a = mas[i * n + t]
            for j in range(i + 1, k):
                b = mas[j * n + t]
                score += (a > b) - (a < b) + (a - b) * 0.0
        out[t] = score / pairs if pairs > 0 else 0.0


def ma_stack_alignment(close, periods=(10, 20, 50, 100, 200), str kind="sma"):
    """How well the moving averages are stacked, per bar, in [-1, 1].

    +1 when every shorter average is above every longer one (a bullish stack), -1 for the
    reverse, values between for partial order (the mean sign over all pairs). NaN until the
    longest average exists. `kind` is "sma" or "ema".
    """
    cdef cnp.ndarray x = as_series(close, "close")
    cdef Py_ssize_t n = x.shape[0]
    ordered = sorted(int(p) for p in periods)
    if len(ordered) < 2:
        raise ValueError("periods needs at least two moving averages")
    if len(set(ordered)) != len(ordered):
        raise ValueError(f"periods must be distinct, got {tuple(periods)}")
    for p in ordered:
        check_period(p, "period", n, 1)
    if kind not in ("sma", "ema"):
        raise ValueError(f"kind must be 'sma' or 'ema', got {kind!r}")
    average = _sma if kind == "sma" else _ema
    cdef cnp.ndarray mas = np.empty((len(ordered), n))
    for i, p in enumerate(ordered):
        mas[i] = average(x, p)
    cdef cnp.ndarray out = np.empty(n)
    with nogil:
        stack_score_kernel(<const double*>cnp.PyArray_DATA(mas), mas.shape[0], n,
                           <double*>cnp.PyArray_DATA(out))
    return out
