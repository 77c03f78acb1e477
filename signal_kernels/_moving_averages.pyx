# cython: language_level=3
"""SMA, EMA and MACD with TA-Lib's lookbacks, seeding and NaN padding.

Each kernel writes outputs from its first valid index on; the wrapper NaN-pads the prefix.
Recursive kernels run a fast form (see `linrec`) and fall back to TA-Lib's exact arithmetic
when the input held NaN or inf, so non-finite values propagate exactly as TA-Lib's do.
"""

cimport numpy as cnp

from signal_kernels._arrays cimport (
    as_series,
    check_period,
    first_valid,
    nan_output,
    nan_outputs,
)
from signal_kernels._recurrences cimport BLOCK, isfinite, linrec

cnp.import_array()

cdef extern from *:
    """
    #if defined(__GNUC__) && !defined(__clang__)
    /* Packing the independent EMA chains into vector lanes costs shuffles on the chains. */
    #pragma GCC optimize ("no-tree-slp-vectorize")
    #endif
    """


cdef void sma_exact(const double* x, Py_ssize_t n, Py_ssize_t period,
                    double* out) noexcept nogil:
    """TA-Lib's running sum, operation for operation."""
    cdef double total = 0.0, temp
    cdef Py_ssize_t i, trailing = 0
    for i in range(period - 1):
        total += x[i]
    for i in range(period - 1, n):
        total += x[i]
        temp = total
        total -= x[trailing]
        trailing += 1
        out[i] = temp / period


cdef void sma_kernel(const double* x, Py_ssize_t n, Py_ssize_t period,
                     double* out) noexcept nogil:
    # The running sum is kept relative to an anchor near the window mean and re-anchored
    # every 1024 bars: one add per bar on the dependency chain (TA-Lib has two) and no
    # rounding drift over long series.
    cdef double anchor, total = 0.0
    cdef double inv = 1.0 / period
    cdef Py_ssize_t i, j, age = 0
    for i in range(period):
        total += x[i]
    anchor = total / period
    out[period - 1] = anchor
    total = 0.0
    for i in range(period):
        total += x[i] - anchor
    for i in range(period, n):
        total += x[i] - x[i - period]
        out[i] = anchor + total * inv
        age += 1
        if age == 1024 and isfinite(total):
            anchor = out[i]
            total = 0.0
            for j in range(i - period + 1, i + 1):
                total += x[j] - anchor
            age = 0
    if not isfinite(total):
        sma_exact(x, n, period, out)


cdef double ema_seed(const double* x, Py_ssize_t period) noexcept nogil:
    cdef double total = 0.0
    cdef Py_ssize_t i
    for i in range(period):
        total += x[i]
    return total / period


cdef void ema_exact(const double* x, Py_ssize_t n, Py_ssize_t period,
                    double* out) noexcept nogil:
    cdef double k = 2.0 / (period + 1)
    cdef double y = ema_seed(x, period)
    cdef Py_ssize_t i
    out[period - 1] = y
    for i in range(period, n):
        y = (x[i] - y) * k + y
        out[i] = y


cdef void ema_kernel(const double* x, Py_ssize_t n, Py_ssize_t period,
                     double* out) noexcept nogil:
    cdef double k = 2.0 / (period + 1)
    cdef double a = 1.0 - k
    cdef double y = ema_seed(x, period)
    cdef double u[BLOCK]
    cdef Py_ssize_t i = period, j, m
    out[period - 1] = y
    while i < n:
        m = min(<Py_ssize_t>BLOCK, n - i)
        for j in range(m):
            u[j] = k * x[i + j]
        y = linrec(y, a, u, out + i, m)
        i += m
    if not isfinite(y):
        ema_exact(x, n, period, out)


cdef Py_ssize_t macd_seed(const double* x, Py_ssize_t fast, Py_ssize_t slow,
                          Py_ssize_t signal, double* state) noexcept nogil:
    """TA-Lib's MACD seeding; leaves (fast EMA, slow EMA, signal, MACD) at the first output.

    Both price EMAs are seeded with SMAs over windows ending at bar slow-1; the signal EMA
    with the SMA of the first `signal` MACD values. Returns the first output index.
    """
    cdef double kf = 2.0 / (fast + 1), ks = 2.0 / (slow + 1)
    cdef double slow_total = 0.0, yf = 0.0, ys, yg = 0.0, m, v
    cdef Py_ssize_t t = 0, i
    for i in range(slow - fast):
        slow_total += x[t]
        t += 1
    for i in range(fast):
        yf += x[t]
        slow_total += x[t]
        t += 1
    ys = slow_total / slow
    yf = yf / fast
    m = yf - ys
    yg += m
    for i in range(signal - 1):
        v = x[t]
        t += 1
        yf = (v - yf) * kf + yf
        ys = (v - ys) * ks + ys
        m = yf - ys
        yg += m
    state[0] = yf
    state[1] = ys
    state[2] = yg / signal
    state[3] = m
    return t - 1


cdef void macd_exact(const double* x, Py_ssize_t n, Py_ssize_t fast, Py_ssize_t slow,
                     Py_ssize_t signal, double* out_macd, double* out_signal,
                     double* out_hist) noexcept nogil:
    """TA-Lib's lockstep MACD, operation for operation."""
    cdef double kf = 2.0 / (fast + 1), ks = 2.0 / (slow + 1), kg = 2.0 / (signal + 1)
    cdef double state[4]
    cdef double yf, ys, yg, m, v
    cdef Py_ssize_t t, start = macd_seed(x, fast, slow, signal, state)
    yf, ys, yg, m = state[0], state[1], state[2], state[3]
    out_macd[start] = m
    out_signal[start] = yg
    out_hist[start] = m - yg
    for t in range(start + 1, n):
        v = x[t]
        yf = (v - yf) * kf + yf
        ys = (v - ys) * ks + ys
        m = yf - ys
        yg = (m - yg) * kg + yg
        out_macd[t] = m
        out_signal[t] = yg
        out_hist[t] = m - yg


cdef void macd_kernel(const double* x, Py_ssize_t n, Py_ssize_t fast, Py_ssize_t slow,
                      Py_ssize_t signal, double* out_macd, double* out_signal,
                      double* out_hist) noexcept nogil:
    # The three EMAs advance in lockstep, two bars per link of each dependency chain:
    # y[t+2] = a^2 y[t] + (a k x[t+1] + k x[t+2]).
    cdef double kf = 2.0 / (fast + 1), ks = 2.0 / (slow + 1), kg = 2.0 / (signal + 1)
    cdef double af = 1.0 - kf, as_ = 1.0 - ks, ag = 1.0 - kg
    cdef double af2 = af * af, as2 = as_ * as_, ag2 = ag * ag
    cdef double cf = af * kf, cs = as_ * ks, cg = ag * kg
    cdef double state[4]
    cdef double yf, ys, yg, m, x0, x1, f0, s0, m0, m1, g0
    cdef Py_ssize_t t, start = macd_seed(x, fast, slow, signal, state)
    yf, ys, yg, m = state[0], state[1], state[2], state[3]
    out_macd[start] = m
    out_signal[start] = yg
    out_hist[start] = m - yg
    t = start + 1
    while t + 2 <= n:
        x0 = x[t]
        x1 = x[t + 1]
        f0 = af * yf + kf * x0
        s0 = as_ * ys + ks * x0
        yf = af2 * yf + (cf * x0 + kf * x1)
        ys = as2 * ys + (cs * x0 + ks * x1)
        m0 = f0 - s0
        m1 = yf - ys
        g0 = ag * yg + kg * m0
        yg = ag2 * yg + (cg * m0 + kg * m1)
        out_macd[t] = m0
        out_macd[t + 1] = m1
        out_signal[t] = g0
        out_signal[t + 1] = yg
        out_hist[t] = m0 - g0
        out_hist[t + 1] = m1 - yg
        t += 2
    if t < n:
        x0 = x[t]
        yf = af * yf + kf * x0
        ys = as_ * ys + ks * x0
        m0 = yf - ys
        yg = ag * yg + kg * m0
        out_macd[t] = m0
        out_signal[t] = yg
        out_hist[t] = m0 - yg
    if not (isfinite(yf) and isfinite(ys) and isfinite(yg)):
        macd_exact(x, n, fast, slow, signal, out_macd, out_signal, out_hist)


def sma(x, Py_ssize_t period):
    """Simple moving average (TA-Lib SMA): NaN for the first period-1 bars."""
    cdef cnp.ndarray arr = as_series(x, "x")
    cdef Py_ssize_t n = arr.shape[0]
    check_period(period, "period", n, 1)
    cdef const double* px = <const double*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t begin = first_valid(px, n)
    cdef cnp.ndarray out = nan_output(n, begin + period - 1)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    if begin + period <= n:
        with nogil:
            sma_kernel(px + begin, n - begin, period, po + begin)
    return out


def ema(x, Py_ssize_t period):
    """Exponential moving average (TA-Lib EMA): k = 2/(period+1), seeded with the SMA of the
    first `period` values, first output at index period-1."""
    cdef cnp.ndarray arr = as_series(x, "x")
    cdef Py_ssize_t n = arr.shape[0]
    check_period(period, "period", n, 1)
    cdef const double* px = <const double*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t begin = first_valid(px, n)
    cdef cnp.ndarray out = nan_output(n, begin + period - 1)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    if begin + period <= n:
        with nogil:
            ema_kernel(px + begin, n - begin, period, po + begin)
    return out


def macd(x, Py_ssize_t fast=12, Py_ssize_t slow=26, Py_ssize_t signal=9):
    """MACD line, signal line and histogram (TA-Lib MACD seeding and lookback).

    All three outputs start at index (slow-1)+(signal-1) (33 for 12/26/9). As in TA-Lib the
    periods are swapped if slow < fast.
    """
    cdef cnp.ndarray arr = as_series(x, "x")
    cdef Py_ssize_t n = arr.shape[0]
    check_period(fast, "fast", n, 2)
    check_period(slow, "slow", n, 2)
    check_period(signal, "signal", n, 1)
    if slow < fast:
        fast, slow = slow, fast
    cdef Py_ssize_t lookback = slow - 1 + signal - 1
    cdef const double* px = <const double*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t begin = first_valid(px, n)
    outputs = nan_outputs(3, n, begin + lookback)
    cdef cnp.ndarray out_macd = outputs[0]
    cdef cnp.ndarray out_signal = outputs[1]
    cdef cnp.ndarray out_hist = outputs[2]
    cdef double* pm = <double*>cnp.PyArray_DATA(out_macd)
    cdef double* ps = <double*>cnp.PyArray_DATA(out_signal)
    cdef double* ph = <double*>cnp.PyArray_DATA(out_hist)
    if begin + lookback < n:
        with nogil:
            macd_kernel(px + begin, n - begin, fast, slow, signal, pm + begin, ps + begin,
                        ph + begin)
    return out_macd, out_signal, out_hist
