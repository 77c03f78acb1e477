# cython: language_level=3
"""Typed zigzag kernel: swing pivots by percentage or by a per-bar absolute threshold."""

cdef Py_ssize_t zigzag_kernel(const double* high, const double* low, Py_ssize_t n,
                              double pct, const double* abs_threshold, long long* index,
                              double* price, signed char* kind) noexcept nogil
