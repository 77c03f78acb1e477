# cython: language_level=3
"""Anchored rolling moments, inline (header-only), shared by SMA, Bollinger and rolling std.

The window sums are kept relative to an anchor K near the window mean (s1 = sum(x-K),
s2 = sum((x-K)^2)), so the variance s2/p - (s1/p)^2 never cancels two numbers of the size
of price^2: a plain running sum of squares loses all digits at price levels like 1e6. The
anchor is reset to the window mean (a two-pass recomputation) when the mean drifts away from
it, when the spread collapses far below its recent peak, or after `age_limit` steps, which
also bounds the rounding drift of the running sums. Comparisons are written so that NaN
state never triggers a reset: once a non-finite value enters, it stays (as in TA-Lib).
"""

cdef extern from "math.h" nogil:
    bint isfinite(double x)

cdef extern from *:
    """
    /* Finish a block of window sums: turn running s1/s2 into mean and variance in place and
     * report whether any step should have re-anchored. SSE2 (x86-64 baseline) when present;
     * the scalar loop is the same arithmetic, so results do not depend on the branch taken. */
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    static inline int sk_moments_finish(double *mean, double *var, Py_ssize_t n, double inv,
                                        double k, double floor, double peak) {
        int flagged = 0;
        Py_ssize_t j = 0;
    #if defined(__SSE2__)
        const __m128d vinv = _mm_set1_pd(inv), vk = _mm_set1_pd(k);
        const __m128d vfloor = _mm_set1_pd(floor), vpeak = _mm_set1_pd(peak);
        const __m128d c1024 = _mm_set1_pd(1024.0);
        __m128d flags = _mm_setzero_pd();
        for (; j + 2 <= n; j += 2) {
            __m128d s1 = _mm_loadu_pd(mean + j), s2 = _mm_loadu_pd(var + j);
            __m128d m = _mm_mul_pd(s1, vinv);
            __m128d m2 = _mm_mul_pd(m, m);
            __m128d v = _mm_sub_pd(_mm_mul_pd(s2, vinv), m2);
            flags = _mm_or_pd(flags, _mm_cmpgt_pd(m2, _mm_add_pd(_mm_mul_pd(c1024, v), vfloor)));
            flags = _mm_or_pd(flags, _mm_cmplt_pd(_mm_mul_pd(s2, c1024), vpeak));
            _mm_storeu_pd(mean + j, _mm_add_pd(vk, m));
            _mm_storeu_pd(var + j, v);
        }
        flagged = _mm_movemask_pd(flags) != 0;
    #endif
        for (; j < n; j++) {
            double m = mean[j] * inv, s2 = var[j];
            double v = s2 * inv - m * m;
            flagged |= (m * m > 1024.0 * v + floor) | (s2 * 1024.0 < peak);
            mean[j] = k + m;
            var[j] = v;
        }
        return flagged;
    }
    """
    int sk_moments_finish(double* mean, double* var, Py_ssize_t n, double inv, double k,
                          double floor, double peak) noexcept nogil

# Largest block moments_block accepts (its scratch lives on the stack).
cdef enum:
    BLOCK_MAX = 240

cdef struct WindowMoments:
    double anchor
    double s1
    double s2
    double s2_peak
    double floor
    Py_ssize_t age
    Py_ssize_t age_limit


cdef inline void moments_start(WindowMoments* st, const double* x, Py_ssize_t end,
                               Py_ssize_t period) noexcept nogil:
    """Anchor on the window x[end-period+1 .. end] (two passes: mean, then deviations)."""
    cdef const double* w = x + end - period + 1
    cdef double total = 0.0, k, d, s1 = 0.0, s2 = 0.0
    cdef Py_ssize_t i
    for i in range(period):
        total += w[i]
    k = total / period
    for i in range(period):
        d = w[i] - k
        s1 += d
        s2 += d * d
    st.anchor = k
    st.s1 = s1
    st.s2 = s2
    st.s2_peak = s2
    # Below this squared mean offset, re-anchoring cannot improve anything (rounding level).
    st.floor = (1e-12 * k) * (1e-12 * k)
    st.age = 0
    st.age_limit = 1024 if 1024 > 8 * period else 8 * period


cdef inline void moments_value(WindowMoments* st, Py_ssize_t period, double* mean,
                               double* var) noexcept nogil:
    cdef double m = st.s1 / period
    mean[0] = st.anchor + m
    var[0] = st.s2 / period - m * m


cdef inline void moments_block_checked(WindowMoments* st, const double* x, Py_ssize_t start,
                                       Py_ssize_t count, Py_ssize_t period, double* mean,
                                       double* var) noexcept nogil:
    """One step at a time, testing the re-anchor conditions after every step."""
    cdef double k = st.anchor, s1 = st.s1, s2 = st.s2, peak = st.s2_peak
    cdef double inv = 1.0 / period
    cdef double dn, do, m, v
    cdef Py_ssize_t j, i
    for j in range(count):
        i = start + j
        dn = x[i] - k
        do = x[i - period] - k
        s1 += dn - do
        s2 += dn * dn - do * do
        m = s1 * inv
        v = s2 * inv - m * m
        if s2 > peak:
            peak = s2
        if m * m > 15.0 * v + st.floor or s2 * 1024.0 < peak:
            moments_start(st, x, i, period)
            k = st.anchor
            s1 = st.s1
            s2 = st.s2
            peak = s2
            m = s1 * inv
            v = s2 * inv - m * m
        mean[j] = k + m
        var[j] = v
    st.s1 = s1
    st.s2 = s2
    st.s2_peak = peak


cdef inline void moments_block(WindowMoments* st, const double* x, Py_ssize_t start,
                               Py_ssize_t count, Py_ssize_t period, double* mean,
                               double* var) noexcept nogil:
    """Slide the window to end at start, start+1, ..., start+count-1 (start >= period).

    Writes the window mean and population variance (possibly a rounding residual below 0
    on flat data; callers clamp). The fast path updates the sums for the whole block and
    tests the re-anchor conditions once, vectorised; if any step would have re-anchored,
    the block is redone step by step. `count` must not exceed BLOCK_MAX.
    """
    cdef double k = st.anchor, s1 = st.s1, s2 = st.s2
    cdef double inv = 1.0 / period
    cdef double floor = st.floor
    cdef double d1[BLOCK_MAX]
    cdef double d2[BLOCK_MAX]
    cdef double a, b, m, v, t1, t2, peak
    cdef Py_ssize_t flagged
    cdef const double* xn = x + start
    cdef const double* xo = x + start - period
    cdef Py_ssize_t j
    cdef double knew, delta
    if isfinite(s1 + s2):
        if st.age > st.age_limit:
            # Recompute from the data now and then: bounds the drift of the running sums.
            moments_start(st, x, start - 1, period)
            k = st.anchor
            s1 = st.s1
            s2 = st.s2
            floor = st.floor
        else:
            # Move the anchor onto the current mean; exact identities for the sums.
            knew = k + s1 * inv
            delta = knew - k
            s2 = s2 - 2.0 * delta * s1 + period * delta * delta
            s1 = s1 - period * delta
            k = knew
            st.anchor = k
            st.s1 = s1
            st.s2 = s2
    st.age += count
    for j in range(count):
        a = xn[j]
        b = xo[j]
        d1[j] = a - b
        d2[j] = (a - b) * ((a - k) + (b - k))
    # Running sums, two steps per link of the dependency chain.
    j = 0
    while j + 2 <= count:
        t1 = d1[j] + d1[j + 1]
        t2 = d2[j] + d2[j + 1]
        mean[j] = s1 + d1[j]
        var[j] = s2 + d2[j]
        s1 += t1
        s2 += t2
        mean[j + 1] = s1
        var[j + 1] = s2
        j += 2
    if j < count:
        s1 += d1[j]
        s2 += d2[j]
        mean[j] = s1
        var[j] = s2
    # Any step that would have re-anchored (mean far from the anchor relative to the spread,
    # or the spread collapsed below 1/1024 of its peak) sends the block to the checked path.
    peak = st.s2_peak
    flagged = sk_moments_finish(mean, var, count, inv, k, floor, peak)
    if flagged:
        moments_block_checked(st, x, start, count, period, mean, var)
        return
    st.s1 = s1
    st.s2 = s2
    if s2 > peak:
        st.s2_peak = s2
