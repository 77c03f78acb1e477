# cython: language_level=3
"""All six indicators for many series in one call, into caller-owned buffers.

Layout is bars-major: every input and output is a C-contiguous (n_bars, n_series) float64
array, so one pass over time updates every series, and each per-bar update is a loop over
series that the compiler vectorises. The GIL is released for the whole computation.

Series are processed in tiles of TILE columns that run through all bars while their state
stays in L1; past the warm-up bars one fused pass per bar updates all six indicators
(_batch_fused), and finished output rows are written with non-temporal stores.

The vectorised pass assumes finite data. A series whose first bar has a NaN (TA-Lib skips
leading NaNs) or whose recurrence state ends non-finite (a NaN or inf somewhere) is
recomputed with the single-series kernels, so every column matches the single-series
functions' TA-Lib semantics exactly.
"""

import numpy as np

cimport numpy as cnp

from signal_kernels._arrays cimport as_series, check_same_length, first_valid, first_valid3
from signal_kernels._batch_fused cimport SK_HAVE_FUSED_ROW, SkRow, sk_fused_row
from signal_kernels._batch_rows cimport (
    ATR_VALUE,
    BB_ANCHOR,
    BB_S1,
    BB_S2,
    EMA_VALUE,
    MACD_FAST,
    MACD_SIGNAL,
    MACD_SLOW,
    N_STATE,
    RSI_GAIN,
    RSI_LOSS,
    SMA_ANCHOR,
    SMA_SUM,
    STRIDE,
    TILE,
    TMP0,
    atr_row,
    bb_after_row,
    bb_row,
    ema_row,
    macd_row,
    rsi_row,
    sk_prefetch_row,
    sk_stream_copy,
    sk_stream_fence,
    sma_after_row,
    sma_row,
)
from signal_kernels._momentum cimport rsi_kernel
from signal_kernels._moving_averages cimport ema_kernel, macd_kernel, sma_kernel
from signal_kernels._recurrences cimport NAN, isfinite
from signal_kernels._results import IndicatorSet
from signal_kernels._volatility cimport atr_kernel, bbands_kernel

cnp.import_array()

# How many bars ahead the input rows of a tile are prefetched.
cdef Py_ssize_t PREFETCH_ROWS = 2

OUTPUT_NAMES = (
    "sma", "ema", "rsi", "atr", "macd", "macd_signal", "macd_hist",
    "bb_upper", "bb_middle", "bb_lower",
)


cdef class BatchOutputs:
    """Caller-owned output buffers for `batch_indicators`, one (n_bars, n_series) array each.

    Build it once with `allocate_batch_outputs` (or pass your own arrays, e.g. views into
    shared memory) and reuse it: the arrays are validated here, once, and
    `batch_indicators` then only checks that the input shape matches.
    """

    def __init__(self, *, sma, ema, rsi, atr, macd, macd_signal, macd_hist, bb_upper,
                 bb_middle, bb_lower):
        arrays = (sma, ema, rsi, atr, macd, macd_signal, macd_hist, bb_upper, bb_middle,
                  bb_lower)
        shape = None
        for name, arr in zip(OUTPUT_NAMES, arrays):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"output {name} must be a numpy array, got {type(arr).__name__}")
            if arr.dtype != np.float64:
                raise TypeError(f"output {name} must have dtype float64, got {arr.dtype}")
            if arr.ndim != 2:
                raise ValueError(f"output {name} must be 2-D (n_bars, n_series), got shape "
                                 f"{arr.shape}")
            if not arr.flags.c_contiguous:
                raise ValueError(f"output {name} must be C-contiguous")
            if not arr.flags.writeable:
                raise ValueError(f"output {name} must be writeable")
            if shape is None:
                shape = arr.shape
            elif arr.shape != shape:
                raise ValueError(f"output {name} has shape {arr.shape}, expected {shape}")
        self.sma, self.ema, self.rsi, self.atr, self.macd = arrays[:5]
        self.macd_signal, self.macd_hist, self.bb_upper, self.bb_middle = arrays[5:9]
        self.bb_lower = arrays[9]
        self.n_bars, self.n_series = shape
        self._state = np.empty(N_STATE * STRIDE)
        self._scratch = np.empty((13, self.n_bars))
        for i, arr in enumerate(arrays):
            self.outputs[i] = <double*>cnp.PyArray_DATA(arr)

    def __repr__(self):
        return f"BatchOutputs(n_bars={self.n_bars}, n_series={self.n_series})"


def allocate_batch_outputs(Py_ssize_t n_bars, Py_ssize_t n_series):
    """Allocate a reusable `BatchOutputs` for inputs of shape (n_bars, n_series)."""
    if n_bars < 1 or n_series < 1:
        raise ValueError(f"n_bars and n_series must be >= 1, got ({n_bars}, {n_series})")
    # One block for all ten outputs: one allocation, and the arrays stay together in memory.
    block = np.empty((10, n_bars, n_series))
    return BatchOutputs(**{name: block[i] for i, name in enumerate(OUTPUT_NAMES)})


cdef cnp.ndarray as_panel(object values, str name, Py_ssize_t n_bars, Py_ssize_t n_series):
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


cdef int check_params(BatchParams* p, Py_ssize_t n) except -1:
    for name, value, minimum in (
        ("sma_period", p.sma_period, 1), ("ema_period", p.ema_period, 1),
        ("rsi_period", p.rsi_period, 2), ("atr_period", p.atr_period, 1),
        ("macd_fast", p.macd_fast, 2), ("macd_slow", p.macd_slow, 2),
        ("macd_signal", p.macd_signal, 1), ("bb_period", p.bb_period, 1),
    ):
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        if value > n:
            raise ValueError(f"{name}={value} is longer than the data ({n} bars)")
    if p.macd_slow < p.macd_fast:
        p.macd_fast, p.macd_slow = p.macd_slow, p.macd_fast
    return 0


cdef void fill_nan(double* out, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(count):
        out[i] = NAN


cdef void single_series_all(const double* h, const double* l, const double* c, Py_ssize_t n,
                            BatchParams* p, double** out) noexcept nogil:
    """The six indicators of one contiguous series, with the single-series semantics."""
    cdef Py_ssize_t bc = first_valid(c, n), b3 = first_valid3(h, l, c, n)
    cdef Py_ssize_t lb_macd = p.macd_slow - 1 + p.macd_signal - 1, i
    fill_nan(out[0], min(n, bc + p.sma_period - 1))
    if bc + p.sma_period <= n:
        sma_kernel(c + bc, n - bc, p.sma_period, out[0] + bc)
    fill_nan(out[1], min(n, bc + p.ema_period - 1))
    if bc + p.ema_period <= n:
        ema_kernel(c + bc, n - bc, p.ema_period, out[1] + bc)
    fill_nan(out[2], min(n, bc + p.rsi_period))
    if bc + p.rsi_period < n:
        rsi_kernel(c + bc, n - bc, p.rsi_period, out[2] + bc)
    fill_nan(out[3], min(n, b3 + p.atr_period))
    if b3 + p.atr_period < n:
        atr_kernel(h + b3, l + b3, c + b3, n - b3, p.atr_period, out[3] + b3)
    for i in range(4, 7):
        fill_nan(out[i], min(n, bc + lb_macd))
    if bc + lb_macd < n:
        macd_kernel(c + bc, n - bc, p.macd_fast, p.macd_slow, p.macd_signal, out[4] + bc,
                    out[5] + bc, out[6] + bc)
    for i in range(7, 10):
        fill_nan(out[i], min(n, bc + p.bb_period - 1))
    if bc + p.bb_period <= n:
        bbands_kernel(c + bc, n - bc, p.bb_period, p.bb_nbdev, out[7] + bc, out[8] + bc,
                      out[9] + bc)


cdef void recompute_column(const double* h, const double* l, const double* c,
                           Py_ssize_t n_bars, Py_ssize_t n_series, Py_ssize_t col,
                           BatchParams* p, double* scratch, double** outputs) noexcept nogil:
    """Gather one column, run the single-series kernels, scatter the ten results back."""
    cdef double* cols[10]
    cdef Py_ssize_t t, k
    for t in range(n_bars):
        scratch[t] = h[t * n_series + col]
        scratch[n_bars + t] = l[t * n_series + col]
        scratch[2 * n_bars + t] = c[t * n_series + col]
    for k in range(10):
        cols[k] = scratch + (3 + k) * n_bars
    single_series_all(scratch, scratch + n_bars, scratch + 2 * n_bars, n_bars, p, cols)
    for k in range(10):
        for t in range(n_bars):
            outputs[k][t * n_series + col] = cols[k][t]


cdef void fused_row_args(SkRow* r, const double* h, const double* l, const double* c,
                         Py_ssize_t t, Py_ssize_t S, Py_ssize_t s0, BatchParams* p,
                         double* state, double** o) noexcept nogil:
    """Point the fused steady-state bar at bar t of the tile starting at column s0."""
    cdef Py_ssize_t k
    r.x = c + t * S + s0
    r.xprev = c + (t - 1) * S + s0
    r.xo_sma = c + (t - p.sma_period) * S + s0
    r.xo_bb = c + (t - p.bb_period) * S + s0
    r.h = h + t * S + s0
    r.l = l + t * S + s0
    r.sma_anchor = state + SMA_ANCHOR * STRIDE
    r.sma_sum = state + SMA_SUM * STRIDE
    r.ema = state + EMA_VALUE * STRIDE
    r.rsi_g = state + RSI_GAIN * STRIDE
    r.rsi_l = state + RSI_LOSS * STRIDE
    r.atr = state + ATR_VALUE * STRIDE
    r.mf = state + MACD_FAST * STRIDE
    r.ms = state + MACD_SLOW * STRIDE
    r.mg = state + MACD_SIGNAL * STRIDE
    r.bbk = state + BB_ANCHOR * STRIDE
    r.bbs1 = state + BB_S1 * STRIDE
    r.bbs2 = state + BB_S2 * STRIDE
    for k in range(10):
        r.o[k] = state + (TMP0 + k) * STRIDE
    r.sma_inv = 1.0 / p.sma_period
    r.ema_k = 2.0 / (p.ema_period + 1)
    r.rsi_a = (p.rsi_period - 1.0) / p.rsi_period
    r.atr_a = (p.atr_period - 1.0) / p.atr_period
    r.atr_b = 1.0 / p.atr_period
    r.kf = 2.0 / (p.macd_fast + 1)
    r.ks = 2.0 / (p.macd_slow + 1)
    r.kg = 2.0 / (p.macd_signal + 1)
    r.bb_inv = 1.0 / p.bb_period
    r.bb_nbdev = p.bb_nbdev


cdef void batch_kernel(const double* h, const double* l, const double* c, Py_ssize_t n_bars,
                       Py_ssize_t n_series, BatchParams* p, double* state, double* scratch,
                       double** outputs) noexcept nogil:
    cdef Py_ssize_t S = n_series, s0, W, t, s, k
    cdef double* o[10]
    cdef bint bad
    cdef SkRow row
    # From this bar on every indicator is past its warm-up: one fused pass per bar.
    cdef Py_ssize_t steady = max(max(p.sma_period, p.ema_period, p.bb_period),
                                 max(p.rsi_period, p.atr_period) + 1,
                                 p.macd_slow + p.macd_signal - 1)
    # Tiles of series run through all bars while their state stays in L1.
    s0 = 0
    while s0 < S:
        W = min(<Py_ssize_t>TILE, S - s0)
        for k in range(10):
            o[k] = outputs[k] + s0
        for k in range(N_STATE * STRIDE):
            state[k] = 0.0
        for t in range(n_bars):
            if PREFETCH_ROWS and t + PREFETCH_ROWS < n_bars:
                sk_prefetch_row(c + (t + PREFETCH_ROWS) * S + s0, W)
                sk_prefetch_row(h + (t + PREFETCH_ROWS) * S + s0, W)
                sk_prefetch_row(l + (t + PREFETCH_ROWS) * S + s0, W)
            if SK_HAVE_FUSED_ROW and t >= steady:
                fused_row_args(&row, h, l, c, t, S, s0, p, state, outputs)
                sk_fused_row(&row, W)
                for k in range(10):
                    sk_stream_copy(o[k] + t * S, row.o[k], W)
            else:
                sma_row(c + s0, t, S, W, p.sma_period, state, o[0])
                ema_row(c + s0, t, S, W, p.ema_period, state, o[1])
                rsi_row(c + s0, t, S, W, p.rsi_period, state, o[2])
                atr_row(h + s0, l + s0, c + s0, t, S, W, p.atr_period, state, o[3])
                macd_row(c + s0, t, S, W, p.macd_fast, p.macd_slow, p.macd_signal, state,
                         o[4], o[5], o[6])
                bb_row(c + s0, t, S, W, p.bb_period, p.bb_nbdev, state, o[7], o[8], o[9])
            sma_after_row(c + s0, t, S, W, p.sma_period, state)
            bb_after_row(c + s0, t, S, W, p.bb_period, state)
        for s in range(W):
            bad = not (h[s0 + s] == h[s0 + s] and l[s0 + s] == l[s0 + s]
                       and c[s0 + s] == c[s0 + s])
            for k in range(TMP0):
                if not isfinite(state[k * STRIDE + s]):
                    bad = True
            if bad:
                recompute_column(h, l, c, n_bars, S, s0 + s, p, scratch, outputs)
        s0 += W
    sk_stream_fence()


def batch_indicators(high, low, close, BatchOutputs out not None, *,
                     Py_ssize_t sma_period=20, Py_ssize_t ema_period=20,
                     Py_ssize_t rsi_period=14, Py_ssize_t atr_period=14,
                     Py_ssize_t macd_fast=12, Py_ssize_t macd_slow=26,
                     Py_ssize_t macd_signal=9, Py_ssize_t bb_period=20,
                     double bb_nbdev=2.0):
    """SMA, EMA, RSI, ATR, MACD and Bollinger bands of many series in one call.

    Inputs are (n_bars, n_series) arrays, one column per series (bars-major; float64
    C-contiguous inputs are used in place, anything else numeric is converted with a copy).
    Results are written into `out` (see `allocate_batch_outputs`), which is returned. Every
    column equals what the single-series functions return for that column.
    """
    cdef cnp.ndarray c = as_panel(close, "close", out.n_bars, out.n_series)
    cdef cnp.ndarray h = as_panel(high, "high", out.n_bars, out.n_series)
    cdef cnp.ndarray lo = as_panel(low, "low", out.n_bars, out.n_series)
    cdef BatchParams p
    p.sma_period, p.ema_period, p.rsi_period, p.atr_period = (sma_period, ema_period,
                                                             rsi_period, atr_period)
    p.macd_fast, p.macd_slow, p.macd_signal = macd_fast, macd_slow, macd_signal
    p.bb_period, p.bb_nbdev = bb_period, bb_nbdev
    check_params(&p, out.n_bars)
    cdef double* ph = <double*>cnp.PyArray_DATA(h)
    cdef double* pl = <double*>cnp.PyArray_DATA(lo)
    cdef double* pc = <double*>cnp.PyArray_DATA(c)
    cdef double* state = <double*>cnp.PyArray_DATA(out._state)
    cdef double* scratch = <double*>cnp.PyArray_DATA(out._scratch)
    with nogil:
        batch_kernel(ph, pl, pc, out.n_bars, out.n_series, &p, state, scratch, out.outputs)
    return out


def indicators_all(high, low, close, *, out=None, Py_ssize_t sma_period=20,
                   Py_ssize_t ema_period=20, Py_ssize_t rsi_period=14,
                   Py_ssize_t atr_period=14, Py_ssize_t macd_fast=12,
                   Py_ssize_t macd_slow=26, Py_ssize_t macd_signal=9,
                   Py_ssize_t bb_period=20, double bb_nbdev=2.0):
    """All six indicators of one series in one call (one boundary check, one GIL release).

    Same values as calling sma, ema, rsi, atr, macd and bbands one by one; returns an
    `IndicatorSet`. Pass a previous result (or any IndicatorSet of float64 arrays of the
    right length) as `out` to have it overwritten instead of allocating new arrays.
    """
    cdef cnp.ndarray h = as_series(high, "high")
    cdef cnp.ndarray lo = as_series(low, "low")
    cdef cnp.ndarray c = as_series(close, "close")
    cdef Py_ssize_t n = check_same_length(c, h, "close", "high")
    check_same_length(c, lo, "close", "low")
    cdef BatchParams p
    p.sma_period, p.ema_period, p.rsi_period, p.atr_period = (sma_period, ema_period,
                                                             rsi_period, atr_period)
    p.macd_fast, p.macd_slow, p.macd_signal = macd_fast, macd_slow, macd_signal
    p.bb_period, p.bb_nbdev = bb_period, bb_nbdev
    check_params(&p, n)
    if out is None:
        out = IndicatorSet(*np.empty((10, n)))
    else:
        if not isinstance(out, IndicatorSet):
            raise TypeError(f"out must be an IndicatorSet, got {type(out).__name__}")
        for name, arr in zip(OUTPUT_NAMES, out):
            if not (isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.ndim == 1
                    and arr.shape[0] == n and arr.flags.c_contiguous and arr.flags.writeable):
                raise ValueError(f"out.{name} must be a writeable C-contiguous float64 array "
                                 f"of length {n}")
    cdef double* outs[10]
    cdef Py_ssize_t k
    for k in range(10):
        outs[k] = <double*>cnp.PyArray_DATA(out[k])
    with nogil:
        single_series_all(<const double*>cnp.PyArray_DATA(h), <const double*>cnp.PyArray_DATA(lo),
                          <const double*>cnp.PyArray_DATA(c), n, &p, outs)
    return out
