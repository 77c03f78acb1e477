# cython: language_level=3
"""Inline loop helpers shared by the indicator modules (header-only; no module of its own)."""

# The TA-Lib-order code paths (seeds, the exact fallbacks used when the input holds NaN or
# inf) keep each rounding step: no fusing of a*b+c into one FMA, which -march=native would
# do. No trapping math: the kernels never read floating-point exception flags, and it lets
# the compiler vectorise branch-free selects. Applies to every module that cimports this.
cdef extern from *:
    """
    #if defined(__clang__)
    #pragma STDC FP_CONTRACT OFF
    #elif defined(__GNUC__)
    #pragma GCC optimize ("fp-contract=off", "no-trapping-math")
    #endif
    """

cdef extern from "math.h" nogil:
    double sqrt(double x)
    double fabs(double x)
    bint isfinite(double x)
    const double NAN

# Work is done in blocks that stay in L1 so the vectorisable parts run as separate loops.
# Not 256: stack buffers exactly 2 KiB apart alias modulo 4 KiB and stall loads on stores.
cdef enum:
    BLOCK = 240


cdef inline double linrec(double y, double a, const double* u, double* out,
                          Py_ssize_t n) noexcept nogil:
    """Run y[t] = a*y[t-1] + u[t] over n steps, writing each y[t]; return the last y.

    Four steps are folded into one link of the dependency chain (y[t+4] = a^4 y[t] + w), so
    the loop runs at throughput instead of at the latency of a multiply-add per element.
    Rounding differs from the one-step form by a few ulps and does not accumulate (|a| < 1).
    """
    cdef double a2 = a * a
    cdef double a3 = a2 * a
    cdef double a4 = a2 * a2
    cdef double w2, w3, w4
    cdef Py_ssize_t i = 0
    while i + 4 <= n:
        w2 = a * u[i] + u[i + 1]
        w3 = a * w2 + u[i + 2]
        w4 = a * w3 + u[i + 3]
        out[i] = a * y + u[i]
        out[i + 1] = a2 * y + w2
        out[i + 2] = a3 * y + w3
        y = a4 * y + w4
        out[i + 3] = y
        i += 4
    while i < n:
        y = a * y + u[i]
        out[i] = y
        i += 1
    return y


cdef inline double true_range_at(const double* high, const double* low, const double* close,
                                 Py_ssize_t t) noexcept nogil:
    """TA-Lib's true range at bar t >= 1, comparisons in TA-Lib's order (NaN-compatible)."""
    cdef double prev_close = close[t - 1]
    cdef double greatest = high[t] - low[t]
    cdef double v = fabs(prev_close - high[t])
    if v > greatest:
        greatest = v
    v = fabs(prev_close - low[t])
    if v > greatest:
        greatest = v
    return greatest


cdef inline bint all_finite(const double* x, Py_ssize_t n) noexcept nogil:
    """True if no NaN or inf in x[0..n-1]; x*0 is NaN exactly for non-finite x."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t i = 0
    while i + 4 <= n:
        a0 += x[i] * 0.0
        a1 += x[i + 1] * 0.0
        a2 += x[i + 2] * 0.0
        a3 += x[i + 3] * 0.0
        i += 4
    while i < n:
        a0 += x[i] * 0.0
        i += 1
    return (a0 + a1 + a2 + a3) == 0.0


cdef inline void linrec_pair(double* y, double* z, double a, const double* u,
                             const double* v, double* out_y, double* out_z,
                             Py_ssize_t n) noexcept nogil:
    """Two recurrences y[t] = a*y[t-1] + u[t], z[t] = a*z[t-1] + v[t] in lockstep,
    two steps per link of each chain; y and z are updated to their last values."""
    cdef double a2 = a * a
    cdef double yy = y[0], zz = z[0]
    cdef Py_ssize_t i = 0
    while i + 2 <= n:
        out_y[i] = a * yy + u[i]
        out_z[i] = a * zz + v[i]
        yy = a2 * yy + (a * u[i] + u[i + 1])
        zz = a2 * zz + (a * v[i] + v[i + 1])
        out_y[i + 1] = yy
        out_z[i + 1] = zz
        i += 2
    if i < n:
        yy = a * yy + u[i]
        zz = a * zz + v[i]
        out_y[i] = yy
        out_z[i] = zz
    y[0] = yy
    z[0] = zz
