# cython: language_level=3
"""Typed kernel of the momentum family (RSI). Inputs are contiguous."""

cdef void rsi_kernel(const double* x, Py_ssize_t n, Py_ssize_t period,
                     double* out) noexcept nogil
