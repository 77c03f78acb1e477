# cython: language_level=3
"""Rolling standard deviation (numerically stable), rolling max and rolling min.

Window semantics, like pandas with min_periods=period: the value at bar i covers bars
i-period+1 .. i and is NaN while that window holds a NaN (for the deviation also an inf);
values recover once it has left the window.
"""

from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc

cimport numpy as cnp

from signal_kernels._arrays cimport as_series, check_period, nan_output
from signal_kernels._recurrences cimport NAN, BLOCK, all_finite, isfinite, sqrt
from signal_kernels._window_sums cimport WindowMoments, moments_block, moments_start, moments_value

cnp.import_array()


cdef void rolling_var_run(const double* x, Py_ssize_t n, Py_ssize_t period, double scale,
                          double* out) noexcept nogil:
    """sqrt(scale * variance) of each full window of an all-finite run (variance >= 0)."""
    cdef WindowMoments st
    cdef double mean[BLOCK]
    cdef double var[BLOCK]
    cdef Py_ssize_t i, j, m
    moments_start(&st, x, period - 1, period)
    moments_value(&st, period, &mean[0], &var[0])
    i = period - 1
    m = 1
    while True:
        # Clamp, then a branch-free loop so the square roots vectorise.
        for j in range(m):
            var[j] = var[j] * scale if var[j] > 0.0 else 0.0
        for j in range(m):
            out[i + j] = sqrt(var[j])
        i += m
        if i >= n:
            break
        m = min(<Py_ssize_t>BLOCK, n - i)
        moments_block(&st, x, i, m, period, mean, var)


cdef int rolling_extreme_run(const double* x, Py_ssize_t n, Py_ssize_t period, bint take_max,
                             Py_ssize_t* ring, double* out) noexcept nogil:
    """Monotonic-deque rolling max (or min) over a NaN-free run; `ring` holds period slots."""
    # The deque is ring[head..tail] (inclusive, wrapping); it holds indices of decreasing
    # (for max) values, its front is the extreme of the window.
    cdef Py_ssize_t head = 0, tail = -1, size = 0, i
    cdef double v
    for i in range(n):
        v = x[i]
        # Drop the front once it has left the window (before pushing: the ring is full).
        if size > 0 and ring[head] <= i - period:
            head = head + 1 if head < period - 1 else 0
            size -= 1
        # Drop candidates the new value dominates, from the back of the deque.
        while size > 0 and ((x[ring[tail]] <= v) if take_max else (x[ring[tail]] >= v)):
            tail = tail - 1 if tail > 0 else period - 1
            size -= 1
        tail = tail + 1 if tail < period - 1 else 0
        ring[tail] = i
        size += 1
        if size == 1:
            head = tail
        if i >= period - 1:
            out[i] = x[ring[head]]
    return 0


cdef Py_ssize_t run_end(const double* x, Py_ssize_t start, Py_ssize_t n,
                        bint nan_only) noexcept nogil:
    cdef Py_ssize_t i = start
    if nan_only:
        while i < n and x[i] == x[i]:
            i += 1
    else:
        while i < n and isfinite(x[i]):
            i += 1
    return i


cdef void fill_nan(double* out, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, end):
        out[i] = NAN


cdef object rolling_by_runs(object x, Py_ssize_t period, int kind, double scale):
    """Apply a run kernel to each maximal run of usable values; NaN elsewhere.

    kind 0: standard deviation (runs of finite values); 1/2: max/min (runs without NaN).
    """
    cdef cnp.ndarray arr = as_series(x, "x")
    cdef Py_ssize_t n = arr.shape[0]
    check_period(period, "period", n, 1)
    cdef const double* px = <const double*>cnp.PyArray_DATA(arr)
    cdef cnp.ndarray out = nan_output(n, 0)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    cdef Py_ssize_t start = 0, end
    cdef bint single_run
    cdef Py_ssize_t* ring = NULL
    if kind != 0:
        ring = <Py_ssize_t*>PyMem_RawMalloc(period * sizeof(Py_ssize_t))
        if ring == NULL:
            raise MemoryError()
    try:
        with nogil:
            single_run = all_finite(px, n)
            while start < n:
                end = n if single_run else run_end(px, start, n, kind != 0)
                if end - start >= period:
                    fill_nan(po, start, start + period - 1)
                    if kind == 0:
                        rolling_var_run(px + start, end - start, period, scale, po + start)
                    else:
                        rolling_extreme_run(px + start, end - start, period, kind == 1, ring,
                                            po + start)
                else:
                    fill_nan(po, start, end)
                if end < n:
                    po[end] = NAN
                start = end + 1
    finally:
        PyMem_RawFree(ring)
    return out


def rolling_std(x, Py_ssize_t period, Py_ssize_t ddof=0):
    """Rolling standard deviation, numerically stable at any price level.

    Population deviation by default (`ddof=0`, as Bollinger bands use); `ddof=1` gives the
    sample deviation. Windows are kept as sums relative to an anchor near the window mean
    and periodically recomputed, so 1e6-level prices with cent-level moves keep full
    accuracy, unlike a running sum of squares. NaN while the window holds a non-finite value.
    """
    if ddof < 0 or ddof >= period:
        raise ValueError(f"ddof must be in [0, period), got ddof={ddof} for period={period}")
    return rolling_by_runs(x, period, 0, period / <double>(period - ddof))


def rolling_max(x, Py_ssize_t period):
    """Highest value of each window of `period` bars (NaN while the window holds a NaN)."""
    return rolling_by_runs(x, period, 1, 1.0)


def rolling_min(x, Py_ssize_t period):
    """Lowest value of each window of `period` bars (NaN while the window holds a NaN)."""
    return rolling_by_runs(x, period, 2, 1.0)
