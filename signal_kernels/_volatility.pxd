# cython: language_level=3
"""Typed kernels of the volatility family (true range, ATR, Bollinger bands)."""

cdef void true_range_kernel(const double* high, const double* low, const double* close,
                            Py_ssize_t n, double* out) noexcept nogil
cdef void atr_kernel(const double* high, const double* low, const double* close,
                     Py_ssize_t n, Py_ssize_t period, double* out) noexcept nogil
cdef void bbands_kernel(const double* x, Py_ssize_t n, Py_ssize_t period, double nbdev,
                        double* upper, double* middle, double* lower) noexcept nogil
