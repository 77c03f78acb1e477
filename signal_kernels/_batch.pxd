# cython: language_level=3
"""Batch (bars-major 2-D) indicator kernels and their caller-owned output buffers."""

cimport numpy as cnp


cdef class BatchOutputs:
    cdef readonly cnp.ndarray sma
    cdef readonly cnp.ndarray ema
    cdef readonly cnp.ndarray rsi
    cdef readonly cnp.ndarray atr
    cdef readonly cnp.ndarray macd
    cdef readonly cnp.ndarray macd_signal
    cdef readonly cnp.ndarray macd_hist
    cdef readonly cnp.ndarray bb_upper
    cdef readonly cnp.ndarray bb_middle
    cdef readonly cnp.ndarray bb_lower
    cdef readonly Py_ssize_t n_bars
    cdef readonly Py_ssize_t n_series
    # Per-series recurrence state and per-column scratch: the reason a call allocates nothing.
    cdef cnp.ndarray _state
    cdef cnp.ndarray _scratch
    cdef double* outputs[10]


cdef struct BatchParams:
    Py_ssize_t sma_period
    Py_ssize_t ema_period
    Py_ssize_t rsi_period
    Py_ssize_t atr_period
    Py_ssize_t macd_fast
    Py_ssize_t macd_slow
    Py_ssize_t macd_signal
    Py_ssize_t bb_period
    double bb_nbdev
