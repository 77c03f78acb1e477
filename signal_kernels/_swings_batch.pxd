# cython: language_level=3
"""Batch swing pivots (zigzag by ATR multiple): caller-owned outputs and their scratch."""

cimport numpy as cnp


cdef class ZigzagBatchOutputs:
    cdef readonly cnp.ndarray index
    cdef readonly cnp.ndarray price
    cdef readonly cnp.ndarray kind
    cdef readonly cnp.ndarray confirmed
    cdef readonly cnp.ndarray count
    cdef readonly Py_ssize_t n_series
    cdef readonly Py_ssize_t slots
    # Per-column scratch (high, low, close, threshold) and one series' full pivot list,
    # grown only when a longer panel arrives: the reason a call allocates nothing.
    cdef Py_ssize_t _capacity
    cdef cnp.ndarray _columns
    cdef cnp.ndarray _pivot_index
    cdef cnp.ndarray _pivot_price
    cdef cnp.ndarray _pivot_kind

    cdef int reserve(self, Py_ssize_t n_bars) except -1
