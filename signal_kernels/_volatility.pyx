# cython: language_level=3
"""True range, ATR (Wilder) and Bollinger bands with TA-Lib's semantics."""

cimport numpy as cnp

from signal_kernels._arrays cimport (
    as_series,
    check_period,
    check_same_length,
    first_valid,
    first_valid3,
    nan_output,
    nan_outputs,
)
from signal_kernels._moving_averages cimport sma_exact
from signal_kernels._recurrences cimport NAN, BLOCK, all_finite, isfinite, linrec, sqrt, true_range_at
from signal_kernels._window_sums cimport WindowMoments, moments_block, moments_start, moments_value

cnp.import_array()

cdef void true_range_kernel(const double* high, const double* low, const double* close,
                            Py_ssize_t n, double* out) noexcept nogil:
    cdef Py_ssize_t t
    for t in range(1, n):
        out[t] = true_range_at(high, low, close, t)


cdef double atr_seed(const double* high, const double* low, const double* close,
                     Py_ssize_t period) noexcept nogil:
    cdef double total = 0.0
    cdef Py_ssize_t t
    for t in range(1, period + 1):
        total += true_range_at(high, low, close, t)
    return total / period


cdef void atr_exact(const double* high, const double* low, const double* close,
                    Py_ssize_t n, Py_ssize_t period, double* out) noexcept nogil:
    cdef double y = atr_seed(high, low, close, period)
    cdef Py_ssize_t t
    out[period] = y
    for t in range(period + 1, n):
        y *= period - 1
        y += true_range_at(high, low, close, t)
        y /= period
        out[t] = y


cdef void atr_kernel(const double* high, const double* low, const double* close,
                     Py_ssize_t n, Py_ssize_t period, double* out) noexcept nogil:
    cdef double b = 1.0 / period
    cdef double a = (period - 1.0) / period
    cdef double y
    cdef double u[BLOCK]
    cdef Py_ssize_t i, j, m
    if period == 1:
        true_range_kernel(high, low, close, n, out)
        return
    y = atr_seed(high, low, close, period)
    out[period] = y
    i = period + 1
    while i < n:
        m = min(<Py_ssize_t>BLOCK, n - i)
        for j in range(m):
            u[j] = b * true_range_at(high, low, close, i + j)
        y = linrec(y, a, u, out + i, m)
        i += m
    if not isfinite(y):
        atr_exact(high, low, close, n, period, out)


cdef void bbands_finite(const double* x, Py_ssize_t n, Py_ssize_t period, double nbdev,
                        double* upper, double* middle, double* lower) noexcept nogil:
    """Bands for windows ending at period-1 .. n-1 of an all-finite series."""
    cdef WindowMoments st
    cdef double mean[BLOCK]
    cdef double var[BLOCK]
    cdef double dev
    cdef Py_ssize_t i, j, m
    moments_start(&st, x, period - 1, period)
    moments_value(&st, period, &mean[0], &var[0])
    i = period - 1
    m = 1
    while True:
        # Clamp, then a branch-free loop so the square roots vectorise.
        for j in range(m):
            var[j] = var[j] if var[j] > 0.0 else 0.0
        for j in range(m):
            dev = sqrt(var[j]) * nbdev
            middle[i + j] = mean[j]
            upper[i + j] = mean[j] + dev
            lower[i + j] = mean[j] - dev
        i += m
        if i >= n:
            break
        m = min(<Py_ssize_t>BLOCK, n - i)
        moments_block(&st, x, i, m, period, mean, var)


cdef void bbands_kernel(const double* x, Py_ssize_t n, Py_ssize_t period, double nbdev,
                        double* upper, double* middle, double* lower) noexcept nogil:
    """TA-Lib's BBANDS (SMA middle band, population deviation).

    Deviations come from anchored window moments, accurate at any price level (TA-Lib 0.8's
    re-anchored variance agrees to ~1e-13 relative). From the first non-finite input on,
    outputs follow TA-Lib: the middle band is its running-sum SMA (inf while an inf is in the
    window, then NaN) and both bands are NaN.
    """
    cdef Py_ssize_t bad = 0, i
    if all_finite(x, n):
        bad = n
    else:
        while bad < n and isfinite(x[bad]):
            bad += 1
    if bad >= period:
        bbands_finite(x, bad, period, nbdev, upper, middle, lower)
    if bad < n:
        sma_exact(x, n, period, middle)
        for i in range(max(bad, period - 1), n):
            upper[i] = NAN
            lower[i] = NAN


def true_range(high, low, close):
    """True range (TA-Lib TRANGE): max(high-low, |high-prev close|, |low-prev close|).

    The first bar has no previous close and is NaN.
    """
    cdef cnp.ndarray h = as_series(high, "high")
    cdef cnp.ndarray lo = as_series(low, "low")
    cdef cnp.ndarray c = as_series(close, "close")
    cdef Py_ssize_t n = check_same_length(h, lo, "high", "low")
    check_same_length(h, c, "high", "close")
    cdef const double* ph = <const double*>cnp.PyArray_DATA(h)
    cdef const double* pl = <const double*>cnp.PyArray_DATA(lo)
    cdef const double* pc = <const double*>cnp.PyArray_DATA(c)
    cdef Py_ssize_t begin = first_valid3(ph, pl, pc, n)
    cdef cnp.ndarray out = nan_output(n, begin + 1)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    if begin + 1 < n:
        with nogil:
            true_range_kernel(ph + begin, pl + begin, pc + begin, n - begin, po + begin)
    return out


def atr(high, low, close, Py_ssize_t period=14):
    """Average true range (TA-Lib ATR): Wilder smoothing seeded with the mean of the first
    `period` true ranges; first value at index `period`."""
    cdef cnp.ndarray h = as_series(high, "high")
    cdef cnp.ndarray lo = as_series(low, "low")
    cdef cnp.ndarray c = as_series(close, "close")
    cdef Py_ssize_t n = check_same_length(h, lo, "high", "low")
    check_same_length(h, c, "high", "close")
    check_period(period, "period", n, 1)
    cdef const double* ph = <const double*>cnp.PyArray_DATA(h)
    cdef const double* pl = <const double*>cnp.PyArray_DATA(lo)
    cdef const double* pc = <const double*>cnp.PyArray_DATA(c)
    cdef Py_ssize_t begin = first_valid3(ph, pl, pc, n)
    cdef cnp.ndarray out = nan_output(n, begin + period)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    if begin + period < n:
        with nogil:
            atr_kernel(ph + begin, pl + begin, pc + begin, n - begin, period, po + begin)
    return out


def bbands(x, Py_ssize_t period=20, double nbdev=2.0):
    """Bollinger bands (TA-Lib BBANDS, SMA middle band): returns (upper, middle, lower).

    The deviation is the population standard deviation over the same window, computed from
    anchored window moments (numerically stable at any price level, like TA-Lib 0.8).
    """
    cdef cnp.ndarray arr = as_series(x, "x")
    cdef Py_ssize_t n = arr.shape[0]
    check_period(period, "period", n, 1)
    cdef const double* px = <const double*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t begin = first_valid(px, n)
    outputs = nan_outputs(3, n, begin + period - 1)
    cdef cnp.ndarray upper = outputs[0]
    cdef cnp.ndarray middle = outputs[1]
    cdef cnp.ndarray lower = outputs[2]
    cdef double* pu = <double*>cnp.PyArray_DATA(upper)
    cdef double* pm = <double*>cnp.PyArray_DATA(middle)
    cdef double* pl = <double*>cnp.PyArray_DATA(lower)
    if begin + period <= n:
        with nogil:
            bbands_kernel(px + begin, n - begin, period, nbdev, pu + begin, pm + begin,
                          pl + begin)
    return upper, middle, lower
