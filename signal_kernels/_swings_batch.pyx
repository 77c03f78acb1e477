# cython: language_level=3
"""Swing pivots (zigzag by ATR multiple) and last-window means of many series in one call.

Inputs are bars-major (n_bars, n_series) float64 panels, the layout of `batch_indicators`.
Each series is gathered into a contiguous scratch column and run through the very kernels
the single-series functions use (`atr_kernel`, `zigzag_kernel`), so every column's result
is bit-for-bit what `zigzag(high[:, s], low[:, s], atr_multiple=..., close=close[:, s])`
returns. Results go into caller-owned buffers; scratch lives in the output object and only
grows when a longer panel arrives. The GIL is released for the whole computation.
"""

import numpy as np

cimport numpy as cnp

from signal_kernels._arrays cimport first_valid3
from signal_kernels._recurrences cimport NAN
from signal_kernels._swings cimport zigzag_kernel
from signal_kernels._volatility cimport atr_kernel

cnp.import_array()

ZIGZAG_OUTPUT_NAMES = ("index", "price", "kind", "confirmed", "count")
_ZIGZAG_DTYPES = (np.int64, np.float64, np.int8, np.bool_, np.int64)
_SCRATCH_STEP = 256  # scratch grows in steps of this many bars


cdef class ZigzagBatchOutputs:
    """Caller-owned buffers for `zigzag_batch`: the last `slots` pivots of every series.

    `index`, `price`, `kind` and `confirmed` are (n_series, slots) arrays, right-aligned:
    a series' newest pivot (the running extreme of the swing in progress) is in the last
    slot, older ones to its left; unused slots hold index -1, price NaN, kind 0 and
    confirmed False. `count` (n_series,) is each series' total number of pivots (it may
    exceed `slots`). Build it once with `allocate_zigzag_outputs` and reuse it.
    """

    def __init__(self, *, index, price, kind, confirmed, count):
        arrays = (index, price, kind, confirmed, count)
        shape = None
        for name, arr, dtype in zip(ZIGZAG_OUTPUT_NAMES, arrays, _ZIGZAG_DTYPES):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"output {name} must be a numpy array, got {type(arr).__name__}")
            if arr.dtype != dtype:
                raise TypeError(f"output {name} must have dtype {np.dtype(dtype)}, got "
                                f"{arr.dtype}")
            if not arr.flags.c_contiguous:
                raise ValueError(f"output {name} must be C-contiguous")
            if not arr.flags.writeable:
                raise ValueError(f"output {name} must be writeable")
            if name == "count":
                continue
            if arr.ndim != 2:
                raise ValueError(f"output {name} must be 2-D (n_series, slots), got shape "
                                 f"{arr.shape}")
            if shape is None:
                shape = arr.shape
            elif arr.shape != shape:
                raise ValueError(f"output {name} has shape {arr.shape}, expected {shape}")
        if shape[0] < 1 or shape[1] < 1:
            raise ValueError(f"outputs need n_series >= 1 and slots >= 1, got {shape}")
        if count.ndim != 1 or count.shape[0] != shape[0]:
            raise ValueError(f"output count has shape {count.shape}, expected ({shape[0]},)")
        self.index, self.price, self.kind, self.confirmed, self.count = arrays
        self.n_series, self.slots = shape
        self._capacity = 0

    def __repr__(self):
        return f"ZigzagBatchOutputs(n_series={self.n_series}, slots={self.slots})"

    cdef int reserve(self, Py_ssize_t n_bars) except -1:
        """Scratch for n_bars-long series: 4 float columns and one pivot list."""
        cdef Py_ssize_t capacity
        if n_bars <= self._capacity:
            return 0
        capacity = -(-n_bars // _SCRATCH_STEP) * _SCRATCH_STEP
        self._columns = np.empty(4 * capacity)
        self._pivot_price = np.empty(capacity + 1)
        self._pivot_index = np.empty(capacity + 1, dtype=np.int64)
        self._pivot_kind = np.empty(capacity + 1, dtype=np.int8)
        self._capacity = capacity
        return 0


def allocate_zigzag_outputs(Py_ssize_t n_series, Py_ssize_t slots=8):
    """Allocate a reusable `ZigzagBatchOutputs` keeping the last `slots` pivots per series."""
    if n_series < 1 or slots < 1:
        raise ValueError(f"n_series and slots must be >= 1, got ({n_series}, {slots})")
    return ZigzagBatchOutputs(
        index=np.empty((n_series, slots), dtype=np.int64),
        price=np.empty((n_series, slots)),
        kind=np.empty((n_series, slots), dtype=np.int8),
        confirmed=np.empty((n_series, slots), dtype=np.bool_),
        count=np.empty(n_series, dtype=np.int64),
    )


cdef cnp.ndarray as_panel(object values, str name, Py_ssize_t n_bars, Py_ssize_t n_series):
    """A C-contiguous float64 (n_bars, n_series) array (converted once if needed)."""
    cdef object arr = values
    if not (cnp.PyArray_Check(arr) and cnp.PyArray_TYPE(arr) == cnp.NPY_DOUBLE
            and cnp.PyArray_IS_C_CONTIGUOUS(arr)):
        arr = np.asarray(values)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be numeric (int or float), got dtype {arr.dtype!s}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_bars, n_series), got shape {arr.shape}")
    if n_bars >= 0 and (arr.shape[0] != n_bars or arr.shape[1] != n_series):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({n_bars}, {n_series}) "
                         "(bars-major: one row per bar, one column per series)")
    return <cnp.ndarray>arr


cdef void gather_column(const double* panel, Py_ssize_t n_bars, Py_ssize_t n_series,
                        Py_ssize_t col, double* out) noexcept nogil:
    cdef Py_ssize_t t
    for t in range(n_bars):
        out[t] = panel[t * n_series + col]


cdef void atr_threshold(const double* h, const double* l, const double* c, Py_ssize_t n,
                        Py_ssize_t period, double multiple, double* out) noexcept nogil:
    """multiple * atr(h, l, c, period), as the single-series `zigzag` computes it."""
    cdef Py_ssize_t begin = first_valid3(h, l, c, n), t
    for t in range(min(n, begin + period)):
        out[t] = NAN
    if begin + period < n:
        atr_kernel(h + begin, l + begin, c + begin, n - begin, period, out + begin)
    for t in range(n):
        out[t] = out[t] * multiple


cdef void zigzag_batch_kernel(const double* h, const double* l, const double* c,
                              Py_ssize_t n_bars, Py_ssize_t n_series,
                              const long long* lengths, Py_ssize_t period,
                              double multiple, double* columns, long long* p_index,
                              double* p_price, signed char* p_kind, Py_ssize_t slots,
                              long long* o_index, double* o_price, signed char* o_kind,
                              cnp.npy_bool* o_confirmed, long long* o_count) noexcept nogil:
    cdef double* hs = columns
    cdef double* ls = columns + n_bars
    cdef double* cs = columns + 2 * n_bars
    cdef double* thr = columns + 3 * n_bars
    cdef Py_ssize_t s, k, count, kept, first, src, n, start
    for s in range(n_series):
        n = n_bars if lengths == NULL else lengths[s]
        start = n_bars - n
        gather_column(h + start * n_series, n, n_series, s, hs)
        gather_column(l + start * n_series, n, n_series, s, ls)
        gather_column(c + start * n_series, n, n_series, s, cs)
        if n > period:
            atr_threshold(hs, ls, cs, n, period, multiple, thr)
        else:  # no ATR value yet (the single-series function raises below `period` bars)
            for k in range(n):
                thr[k] = NAN
        count = zigzag_kernel(hs, ls, n, 0.0, thr, p_index, p_price, p_kind)
        o_count[s] = count
        kept = count if count < slots else slots
        first = slots - kept
        for k in range(first):
            o_index[s * slots + k] = -1
            o_price[s * slots + k] = NAN
            o_kind[s * slots + k] = 0
            o_confirmed[s * slots + k] = 0
        for k in range(first, slots):
            src = count - slots + k
            o_index[s * slots + k] = p_index[src] + start
            o_price[s * slots + k] = p_price[src]
            o_kind[s * slots + k] = p_kind[src]
            o_confirmed[s * slots + k] = src < count - 1


cdef cnp.ndarray as_lengths(object lengths, Py_ssize_t n_bars, Py_ssize_t n_series):
    """Validated per-series bar counts (int64, each in 0..n_bars), or None."""
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"lengths must be integers, got dtype {arr.dtype!s}")
    if arr.ndim != 1 or arr.shape[0] != n_series:
        raise ValueError(f"lengths has shape {np.shape(arr)}, expected ({n_series},)")
    if arr.shape[0] and (arr.min() < 0 or arr.max() > n_bars):
        raise ValueError(f"lengths must be in 0..{n_bars} (the panel's bars)")
    return np.ascontiguousarray(arr, dtype=np.int64)


def zigzag_batch(high, low, close, ZigzagBatchOutputs out not None, *, atr_multiple,
                 Py_ssize_t atr_period=14, lengths=None):
    """Swing pivots of many series by ATR multiple, written into `out`, which is returned.

    `high`, `low` and `close` are (n_bars, n_series) arrays, one column per series
    (bars-major, as for `batch_indicators`; float64 C-contiguous inputs are used in place,
    other numeric input is converted with a copy), with n_series == out.n_series. For every
    column s the last `out.slots` pivots and the pivot count are exactly those of
    `zigzag(high[:, s], low[:, s], atr_multiple=atr_multiple, close=close[:, s],
    atr_period=atr_period)` (leading NaN skipped, NaN bars ignored, the same ATR bits).

    `lengths` (optional, n_series integers in 0..n_bars): column s is only its last
    lengths[s] bars, as if called with `high[n_bars - lengths[s]:, s]` etc.; indices stay
    row numbers of the panel. A series of at most `atr_period` bars has no ATR and so no
    confirmed pivot (where the single-series function would raise for too short a series).
    """
    if atr_multiple is None or not float(atr_multiple) > 0.0:
        raise ValueError(f"atr_multiple must be > 0, got {atr_multiple}")
    cdef double multiple = float(atr_multiple)
    cdef cnp.ndarray c = as_panel(close, "close", -1, 0)
    cdef Py_ssize_t n_bars = c.shape[0], n_series = c.shape[1]
    if n_series != out.n_series:
        raise ValueError(f"close has {n_series} series (columns) but out holds "
                         f"{out.n_series}")
    cdef cnp.ndarray h = as_panel(high, "high", n_bars, n_series)
    cdef cnp.ndarray lo = as_panel(low, "low", n_bars, n_series)
    if atr_period < 1:
        raise ValueError(f"atr_period must be >= 1, got {atr_period}")
    if atr_period > n_bars:
        raise ValueError(f"atr_period={atr_period} is longer than the data ({n_bars} bars)")
    cdef cnp.ndarray lens = as_lengths(lengths, n_bars, n_series)
    cdef const long long* plens = NULL
    if lens is not None:
        plens = <const long long*>cnp.PyArray_DATA(lens)
    out.reserve(n_bars)
    cdef const double* ph = <const double*>cnp.PyArray_DATA(h)
    cdef const double* pl = <const double*>cnp.PyArray_DATA(lo)
    cdef const double* pc = <const double*>cnp.PyArray_DATA(c)
    cdef double* columns = <double*>cnp.PyArray_DATA(out._columns)
    cdef long long* p_index = <long long*>cnp.PyArray_DATA(out._pivot_index)
    cdef double* p_price = <double*>cnp.PyArray_DATA(out._pivot_price)
    cdef signed char* p_kind = <signed char*>cnp.PyArray_DATA(out._pivot_kind)
    cdef long long* o_index = <long long*>cnp.PyArray_DATA(out.index)
    cdef double* o_price = <double*>cnp.PyArray_DATA(out.price)
    cdef signed char* o_kind = <signed char*>cnp.PyArray_DATA(out.kind)
    cdef cnp.npy_bool* o_confirmed = <cnp.npy_bool*>cnp.PyArray_DATA(out.confirmed)
    cdef long long* o_count = <long long*>cnp.PyArray_DATA(out.count)
    with nogil:
        zigzag_batch_kernel(ph, pl, pc, n_bars, n_series, plens, atr_period, multiple, columns,
                            p_index, p_price, p_kind, out.slots, o_index, o_price, o_kind,
                            o_confirmed, o_count)
    return out


cdef void window_mean_kernel(const double* x, Py_ssize_t n_bars, Py_ssize_t n_series,
                             const Py_ssize_t* periods, Py_ssize_t n_periods,
                             const long long* lengths, double* out) noexcept nogil:
    """out[k, s] = sum(x[n-p .. n-1, s]) / p, p = periods[k], summed oldest first from 0.0
    as sma's seed is (a NaN anywhere in the window makes the sum NaN, as in sma)."""
    cdef Py_ssize_t k, s, t, p
    for k in range(n_periods):
        p = periods[k]
        for s in range(n_series):
            out[k * n_series + s] = 0.0
        for t in range(n_bars - p, n_bars):
            for s in range(n_series):
                out[k * n_series + s] += x[t * n_series + s]
        for s in range(n_series):
            out[k * n_series + s] = out[k * n_series + s] / p
        if lengths != NULL:
            for s in range(n_series):
                if lengths[s] < p:
                    out[k * n_series + s] = NAN


def last_sma_batch(close, periods, out, *, lengths=None):
    """The last simple moving average of every series, for several periods, into `out`.

    `close` is (n_bars, n_series) bars-major; `out` a writeable C-contiguous float64
    (len(periods), n_series) array, returned. out[k, s] equals
    `sma(close[n_bars - p:, s], p)[-1]` with p = periods[k] (the mean of the last p bars,
    summed oldest first; NaN when any of them is NaN). Every period must be in
    1..n_bars. With `lengths` (n_series integers in 0..n_bars), a series shorter than p
    bars gets NaN (too short for the average) instead.
    """
    cdef cnp.ndarray c = as_panel(close, "close", -1, 0)
    cdef Py_ssize_t n_bars = c.shape[0], n_series = c.shape[1], k
    cdef cnp.ndarray p = np.ascontiguousarray(periods, dtype=np.intp)
    if p.ndim != 1 or p.shape[0] < 1:
        raise ValueError(f"periods must be a non-empty 1-D sequence, got {periods!r}")
    cdef Py_ssize_t n_periods = p.shape[0]
    cdef const Py_ssize_t* pp = <const Py_ssize_t*>cnp.PyArray_DATA(p)
    for k in range(n_periods):
        if pp[k] < 1:
            raise ValueError(f"period must be >= 1, got {pp[k]}")
        if pp[k] > n_bars:
            raise ValueError(f"period={pp[k]} is longer than the data ({n_bars} bars)")
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"out must have dtype float64, got {out.dtype}")
    if out.shape != (n_periods, n_series) or not out.flags.c_contiguous \
            or not out.flags.writeable:
        raise ValueError(f"out must be a writeable C-contiguous array of shape "
                         f"({n_periods}, {n_series}), got {out.shape}")
    cdef cnp.ndarray lens = as_lengths(lengths, n_bars, n_series)
    cdef const long long* plens = NULL
    if lens is not None:
        plens = <const long long*>cnp.PyArray_DATA(lens)
    cdef const double* px = <const double*>cnp.PyArray_DATA(c)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    with nogil:
        window_mean_kernel(px, n_bars, n_series, pp, n_periods, plens, po)
    return out
