# cython: language_level=3
"""Typed kernel of moving-average stack alignment."""

cdef void stack_score_kernel(const double* mas, Py_ssize_t k, Py_ssize_t n,
                             double* out) noexcept nogil
