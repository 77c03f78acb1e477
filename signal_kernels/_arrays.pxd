# cython: language_level=3
"""Boundary helpers shared by every kernel module: coercion, validation, output buffers."""

cimport numpy as cnp

cdef cnp.ndarray as_series(object values, str name)
cdef Py_ssize_t check_period(Py_ssize_t period, str name, Py_ssize_t n,
                             Py_ssize_t minimum) except -1
cdef Py_ssize_t check_same_length(cnp.ndarray a, cnp.ndarray b, str name_a,
                                  str name_b) except -1
cdef cnp.ndarray nan_output(Py_ssize_t n, Py_ssize_t n_nan)
cdef tuple nan_outputs(Py_ssize_t count, Py_ssize_t n, Py_ssize_t n_nan)
cdef Py_ssize_t first_valid(const double* x, Py_ssize_t n) noexcept nogil
cdef Py_ssize_t first_valid3(const double* a, const double* b, const double* c,
                             Py_ssize_t n) noexcept nogil
