# cython: language_level=3
"""Typed kernels of the chart-pattern detectors."""

cdef struct CupCandidate:
    Py_ssize_t left_rim
    Py_ssize_t bottom
    Py_ssize_t right_rim
    Py_ssize_t handle_low
    Py_ssize_t handle_end
    double depth
    double handle_depth
    double quality

cdef struct CupRules:
    Py_ssize_t min_cup_bars
    Py_ssize_t max_cup_bars
    double min_depth
    double max_depth
    double rim_tolerance
    Py_ssize_t min_handle_bars
    double max_handle_retrace
    double max_handle_fraction

cdef Py_ssize_t cup_candidates(const double* x, Py_ssize_t n, CupRules* rules,
                               CupCandidate* found) noexcept nogil
cdef int impulse_violations(const double* p, Py_ssize_t count, bint last_final) noexcept nogil
