# cython: language_level=3
"""Relative strength index with TA-Lib's (Wilder) smoothing, lookback and zero guard."""

cimport numpy as cnp

from signal_kernels._arrays cimport as_series, check_period, first_valid, nan_output
from signal_kernels._recurrences cimport BLOCK, linrec_pair

cnp.import_array()

cdef inline double rsi_value(double gain, double total) noexcept nogil:
    # TA-Lib 0.8: a flat window (0/0) and any non-finite state give 0, never NaN.
    cdef double r = 100.0 * (gain / total)
    return r if r == r else 0.0


cdef void rsi_kernel(const double* x, Py_ssize_t n, Py_ssize_t period,
                     double* out) noexcept nogil:
    # RSI is a ratio, so the averages are carried scaled by `period`: G = period * avg_gain
    # follows G[t] = a*G[t-1] + gain[t] with a = (period-1)/period. A non-finite input makes
    # the state non-finite for good, and every later value is then 0, exactly as in TA-Lib.
    cdef double a = (period - 1.0) / period
    cdef double g = 0.0, l = 0.0, d
    cdef double up[BLOCK]
    cdef double dn[BLOCK]
    cdef double gb[BLOCK]
    cdef double lb[BLOCK]
    cdef Py_ssize_t t, i, j, m
    for t in range(1, period + 1):
        d = x[t] - x[t - 1]
        if d < 0.0:
            l -= d
        else:
            g += d
    out[period] = rsi_value(g, g + l)
    i = period + 1
    while i < n:
        m = min(<Py_ssize_t>BLOCK, n - i)
        for j in range(m):
            d = x[i + j] - x[i + j - 1]
            up[j] = 0.0 if d < 0.0 else d
            dn[j] = -d if d < 0.0 else 0.0
        linrec_pair(&g, &l, a, up, dn, gb, lb, m)
        for j in range(m):
            out[i + j] = rsi_value(gb[j], gb[j] + lb[j])
        i += m


def rsi(x, Py_ssize_t period=14):
    """Relative strength index (TA-Lib RSI): Wilder smoothing, first value at index `period`.

    As in TA-Lib 0.8 a flat window (no gain, no loss) gives 0, and so does every bar from
    the first NaN or inf in the input on.
    """
    cdef cnp.ndarray arr = as_series(x, "x")
    cdef Py_ssize_t n = arr.shape[0]
    check_period(period, "period", n, 2)
    cdef const double* px = <const double*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t begin = first_valid(px, n)
    cdef cnp.ndarray out = nan_output(n, begin + period)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    if begin + period < n:
        with nogil:
            rsi_kernel(px + begin, n - begin, period, po + begin)
    return out
