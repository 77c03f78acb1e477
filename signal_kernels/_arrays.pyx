# cython: language_level=3
"""Boundary helpers shared by every kernel module.

Arguments are checked once here; the kernels behind them assume contiguous float64 data and
valid periods, and run without the GIL.
"""

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef extern from "math.h" nogil:
    const double NAN

# Kinds numpy can turn into float64 without losing meaning: signed/unsigned ints and floats.
_CONVERTIBLE_KINDS = frozenset("iuf")


cdef cnp.ndarray as_series(object values, str name):
    """Return `values` as a 1-D C-contiguous float64 array (no copy when it already is one)."""
    cdef object arr
    if cnp.PyArray_Check(values):
        if (cnp.PyArray_TYPE(values) == cnp.NPY_DOUBLE and cnp.PyArray_NDIM(values) == 1
                and cnp.PyArray_IS_C_CONTIGUOUS(values)):
            return <cnp.ndarray>values
        arr = values
    else:
        arr = np.asarray(values)
    if arr.dtype.kind not in _CONVERTIBLE_KINDS:
        raise TypeError(
            f"{name} must be numeric (int or float), got dtype {arr.dtype!s}"
        )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


cdef Py_ssize_t check_period(Py_ssize_t period, str name, Py_ssize_t n,
                             Py_ssize_t minimum) except -1:
    """Validate a window length against its minimum and the data length."""
    if period < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {period}")
    if period > n:
        raise ValueError(
            f"{name}={period} is longer than the data ({n} bars)"
        )
    return period


cdef Py_ssize_t check_same_length(cnp.ndarray a, cnp.ndarray b, str name_a,
                                  str name_b) except -1:
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0]
    if na != nb:
        raise ValueError(f"{name_a} and {name_b} must have the same length, got {na} and {nb}")
    return na


cdef cnp.ndarray nan_output(Py_ssize_t n, Py_ssize_t n_nan):
    """An uninitialised float64 array whose first `n_nan` entries are NaN."""
    cdef cnp.npy_intp dims = n
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &dims, cnp.NPY_DOUBLE, 0)
    cdef double* p = <double*>cnp.PyArray_DATA(out)
    cdef Py_ssize_t i
    if n_nan > n:
        n_nan = n
    for i in range(n_nan):
        p[i] = NAN
    return out


cdef tuple nan_outputs(Py_ssize_t count, Py_ssize_t n, Py_ssize_t n_nan):
    """`count` outputs like nan_output, as rows of one (count, n) block.

    One allocation instead of `count`: cheaper, and for large n it keeps glibc from
    returning the memory to the OS between calls (which costs page faults next time).
    """
    cdef cnp.npy_intp dims[2]
    dims[0] = count
    dims[1] = n
    cdef cnp.ndarray block = cnp.PyArray_EMPTY(2, dims, cnp.NPY_DOUBLE, 0)
    cdef double* p = <double*>cnp.PyArray_DATA(block)
    cdef Py_ssize_t i, k
    if n_nan > n:
        n_nan = n
    for k in range(count):
        for i in range(n_nan):
            p[k * n + i] = NAN
    return tuple(block)


cdef Py_ssize_t first_valid(const double* x, Py_ssize_t n) noexcept nogil:
    """Index of the first non-NaN value (TA-Lib skips leading NaNs); n - 1 if all NaN."""
    cdef Py_ssize_t i
    for i in range(n):
        if x[i] == x[i]:
            return i
    return n - 1 if n > 0 else 0


cdef Py_ssize_t first_valid3(const double* a, const double* b, const double* c,
                             Py_ssize_t n) noexcept nogil:
    """Index of the first bar where all three inputs are non-NaN; n - 1 if none."""
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i]:
            return i
    return n - 1 if n > 0 else 0
