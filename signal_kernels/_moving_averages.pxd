# cython: language_level=3
"""Typed kernels of the moving-average family (SMA, EMA, MACD). Inputs are contiguous."""

cdef void sma_kernel(const double* x, Py_ssize_t n, Py_ssize_t period,
                     double* out) noexcept nogil
cdef void ema_kernel(const double* x, Py_ssize_t n, Py_ssize_t period,
                     double* out) noexcept nogil
cdef void macd_kernel(const double* x, Py_ssize_t n, Py_ssize_t fast, Py_ssize_t slow,
                      Py_ssize_t signal, double* out_macd, double* out_signal,
                      double* out_hist) noexcept nogil
cdef void sma_exact(const double* x, Py_ssize_t n, Py_ssize_t period,
                    double* out) noexcept nogil
