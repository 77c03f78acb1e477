# cython: language_level=3
"""Typed rolling-window kernels (stable standard deviation, max, min) on finite runs."""

cdef void rolling_var_run(const double* x, Py_ssize_t n, Py_ssize_t period, double scale,
                          double* out) noexcept nogil
cdef int rolling_extreme_run(const double* x, Py_ssize_t n, Py_ssize_t period, bint take_max,
                             Py_ssize_t* ring, double* out) noexcept nogil
