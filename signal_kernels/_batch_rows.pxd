# cython: language_level=3
"""Per-bar updates of the batch kernels, inline (header-only).

Each function advances one indicator by one bar for a tile of W series: `t` is the bar,
rows of the (n_bars, n_series) arrays are S doubles apart and `c`/`out` already point at
the tile's first column. The inner loops run over series with no dependency between
iterations, so they vectorise; the recurrences keep TA-Lib's arithmetic form (there is no
latency chain to shorten across series). State lives in `state`: N_STATE rows, STRIDE doubles apart.
Finished output rows are assembled in scratch rows and streamed out (see sk_stream_copy).
"""

from signal_kernels._recurrences cimport NAN, fabs, sqrt

cdef extern from *:
    """
    /* Output rows are written once and not read again by the kernel: non-temporal stores
     * skip the read-for-ownership of each line, which otherwise doubles the memory traffic
     * of a batch whose outputs do not fit in cache. SSE2 is the x86-64 baseline; elsewhere
     * this is a plain copy. */
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    #include <stdint.h>
    static inline void sk_stream_copy(double *dst, const double *src, Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__SSE2__)
        if (n >= 8) {
            if (((uintptr_t)dst & 15) != 0) { dst[0] = src[0]; i = 1; }
            for (; i + 2 <= n; i += 2) _mm_stream_pd(dst + i, _mm_loadu_pd(src + i));
        }
    #endif
        for (; i < n; i++) dst[i] = src[i];
    }
    /* Rows of a tile are n_series doubles apart, a new page per row for wide panels, which
     * the hardware prefetchers do not cross: ask for the next rows' lines explicitly. */
    static inline void sk_prefetch_row(const double *p, Py_ssize_t n) {
    #if defined(__GNUC__)
        for (Py_ssize_t i = 0; i < n; i += 8) __builtin_prefetch(p + i, 0, 3);
    #else
        (void)p; (void)n;
    #endif
    }
    static inline void sk_stream_fence(void) {
    #if defined(__SSE2__)
        _mm_sfence();
    #endif
    }
    """
    void sk_stream_copy(double* dst, const double* src, Py_ssize_t n) noexcept nogil
    void sk_stream_fence() noexcept nogil
    void sk_prefetch_row(const double* p, Py_ssize_t n) noexcept nogil

cdef enum:
    SMA_ANCHOR = 0
    SMA_SUM = 1
    EMA_VALUE = 2
    RSI_GAIN = 3
    RSI_LOSS = 4
    ATR_VALUE = 5
    MACD_FAST = 6
    MACD_SLOW = 7
    MACD_SIGNAL = 8
    BB_ANCHOR = 9
    BB_S1 = 10
    BB_S2 = 11
    # Scratch rows where output rows are assembled before they are streamed out.
    TMP0 = 12
    TMP1 = 13
    TMP2 = 14
    N_STATE = 22
    # Series per tile: the tile's state and rows stay in L1 while it runs through time.
    TILE = 256
    # State rows are TILE doubles plus one cache line apart: rows exactly 2 KiB apart would
    # alias modulo 4 KiB, and the loads of one row stall behind stores to another.
    STRIDE = TILE + 8
    # How often the Bollinger sums move their anchor onto the mean / are recomputed.
    BB_RECENTER_EVERY = 8
    BB_RECOMPUTE_EVERY = 512


cdef inline void nan_row(double* o, Py_ssize_t W) noexcept nogil:
    cdef Py_ssize_t s
    for s in range(W):
        o[s] = NAN


cdef inline void sum_rows(const double* c, Py_ssize_t first, Py_ssize_t last, Py_ssize_t S,
                          Py_ssize_t W, double* acc) noexcept nogil:
    """acc[s] = c[first, s] + ... + c[last, s], added in bar order."""
    cdef Py_ssize_t r, s
    cdef const double* x = c + first * S
    for s in range(W):
        acc[s] = x[s]
    for r in range(first + 1, last + 1):
        x = c + r * S
        for s in range(W):
            acc[s] += x[s]


cdef inline void anchored_sums(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                               Py_ssize_t p, const double* anchor, double* s1,
                               double* s2) noexcept nogil:
    """Sums of (x - anchor), and of its square if s2 is given, over the window ending at t."""
    cdef Py_ssize_t r, s
    cdef const double* x
    cdef double d
    for s in range(W):
        s1[s] = 0.0
        if s2 != NULL:
            s2[s] = 0.0
    for r in range(t - p + 1, t + 1):
        x = c + r * S
        if s2 != NULL:
            for s in range(W):
                d = x[s] - anchor[s]
                s1[s] += d
                s2[s] += d * d
        else:
            for s in range(W):
                s1[s] += x[s] - anchor[s]


cdef inline void sma_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                         Py_ssize_t p, double* state, double* out) noexcept nogil:
    cdef double* anchor = state + SMA_ANCHOR * STRIDE
    cdef double* total = state + SMA_SUM * STRIDE
    cdef double* tmp = state + TMP0 * STRIDE
    cdef const double* x = c + t * S
    cdef const double* xo = c + (t - p) * S
    cdef double* o = out + t * S
    cdef double inv = 1.0 / p
    cdef Py_ssize_t s
    if t < p - 1:
        nan_row(o, W)
        return
    if t == p - 1:
        sum_rows(c, 0, t, S, W, anchor)
        for s in range(W):
            anchor[s] = anchor[s] / p
            o[s] = anchor[s]
        anchored_sums(c, t, S, W, p, anchor, total, NULL)
        return
    for s in range(W):
        total[s] += x[s] - xo[s]
        tmp[s] = anchor[s] + total[s] * inv
    sk_stream_copy(o, tmp, W)


cdef inline void sma_after_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                               Py_ssize_t p, double* state) noexcept nogil:
    """Re-anchor the running sums on the mean every 1024 bars, as the single-series kernel."""
    cdef double* anchor = state + SMA_ANCHOR * STRIDE
    cdef double* total = state + SMA_SUM * STRIDE
    cdef Py_ssize_t s
    if t >= p and (t - p + 1) % 1024 == 0:
        for s in range(W):
            anchor[s] = anchor[s] + total[s] * (1.0 / p)
        anchored_sums(c, t, S, W, p, anchor, total, NULL)


cdef inline void ema_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                         Py_ssize_t p, double* state, double* out) noexcept nogil:
    cdef double* y = state + EMA_VALUE * STRIDE
    cdef const double* x = c + t * S
    cdef double* o = out + t * S
    cdef double k = 2.0 / (p + 1)
    cdef Py_ssize_t s
    if t < p - 1:
        nan_row(o, W)
        return
    if t == p - 1:
        sum_rows(c, 0, t, S, W, y)
        for s in range(W):
            y[s] = y[s] / p
    else:
        for s in range(W):
            y[s] = (x[s] - y[s]) * k + y[s]
    sk_stream_copy(o, y, W)


cdef inline void rsi_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                         Py_ssize_t p, double* state, double* out) noexcept nogil:
    # Gains and losses carried scaled by p (RSI is their ratio): G = a*G + gain.
    cdef double* g = state + RSI_GAIN * STRIDE
    cdef double* l = state + RSI_LOSS * STRIDE
    cdef double* tmp = state + TMP0 * STRIDE
    cdef const double* x = c + t * S
    cdef const double* xp = x - S
    cdef double* o = out + t * S
    cdef double a = (p - 1.0) / p
    cdef double d, up, dn, r
    cdef Py_ssize_t s
    if t == 0:
        nan_row(o, W)
        return
    if t <= p:
        for s in range(W):
            d = x[s] - xp[s]
            up = 0.0 if d < 0.0 else d
            dn = -d if d < 0.0 else 0.0
            g[s] = up if t == 1 else g[s] + up
            l[s] = dn if t == 1 else l[s] + dn
        if t < p:
            nan_row(o, W)
            return
    else:
        for s in range(W):
            d = x[s] - xp[s]
            up = 0.0 if d < 0.0 else d
            dn = -d if d < 0.0 else 0.0
            g[s] = a * g[s] + up
            l[s] = a * l[s] + dn
    for s in range(W):
        r = 100.0 * (g[s] / (g[s] + l[s]))
        tmp[s] = r if r == r else 0.0
    sk_stream_copy(o, tmp, W)


cdef inline void atr_row(const double* h, const double* lo, const double* c, Py_ssize_t t,
                         Py_ssize_t S, Py_ssize_t W, Py_ssize_t p, double* state,
                         double* out) noexcept nogil:
    cdef double* y = state + ATR_VALUE * STRIDE
    cdef const double* ht = h + t * S
    cdef const double* lt = lo + t * S
    cdef const double* cp = c + (t - 1) * S
    cdef double* o = out + t * S
    cdef double a = (p - 1.0) / p, b = 1.0 / p
    cdef double tr, v
    cdef Py_ssize_t s
    if t == 0:
        nan_row(o, W)
        return
    # TA-Lib's true range, comparisons in its order; the smoothing loop is the hot one.
    if t > p:
        for s in range(W):
            tr = ht[s] - lt[s]
            v = fabs(cp[s] - ht[s])
            tr = v if v > tr else tr
            v = fabs(cp[s] - lt[s])
            tr = v if v > tr else tr
            y[s] = a * y[s] + b * tr
    else:
        for s in range(W):
            tr = ht[s] - lt[s]
            v = fabs(cp[s] - ht[s])
            tr = v if v > tr else tr
            v = fabs(cp[s] - lt[s])
            tr = v if v > tr else tr
            y[s] = tr if t == 1 else y[s] + tr
    if t < p:
        nan_row(o, W)
        return
    if t == p:
        for s in range(W):
            y[s] = y[s] / p
    sk_stream_copy(o, y, W)


cdef inline void macd_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                          Py_ssize_t fast, Py_ssize_t slow, Py_ssize_t sig, double* state,
                          double* out_macd, double* out_signal,
                          double* out_hist) noexcept nogil:
    """TA-Lib's MACD: both EMAs seeded on windows ending at bar slow-1 (slow >= fast)."""
    cdef double* f = state + MACD_FAST * STRIDE
    cdef double* sl = state + MACD_SLOW * STRIDE
    cdef double* g = state + MACD_SIGNAL * STRIDE
    cdef double* mrow = state + TMP0 * STRIDE
    cdef double* hrow = state + TMP1 * STRIDE
    cdef const double* x = c + t * S
    cdef double kf = 2.0 / (fast + 1), ks = 2.0 / (slow + 1), kg = 2.0 / (sig + 1)
    cdef Py_ssize_t first = slow - 1 + sig - 1, s
    cdef double m
    if t < slow - 1:
        pass
    elif t == slow - 1:
        sum_rows(c, 0, t, S, W, sl)
        sum_rows(c, slow - fast, t, S, W, f)
        for s in range(W):
            sl[s] = sl[s] / slow
            f[s] = f[s] / fast
            mrow[s] = f[s] - sl[s]
            g[s] = mrow[s]
    elif t < first:
        for s in range(W):
            f[s] = (x[s] - f[s]) * kf + f[s]
            sl[s] = (x[s] - sl[s]) * ks + sl[s]
            mrow[s] = f[s] - sl[s]
            g[s] += mrow[s]
    elif t == first:
        for s in range(W):
            f[s] = (x[s] - f[s]) * kf + f[s]
            sl[s] = (x[s] - sl[s]) * ks + sl[s]
            mrow[s] = f[s] - sl[s]
            g[s] = (g[s] + mrow[s]) / sig
    else:
        for s in range(W):
            f[s] = (x[s] - f[s]) * kf + f[s]
            sl[s] = (x[s] - sl[s]) * ks + sl[s]
            m = f[s] - sl[s]
            g[s] = (m - g[s]) * kg + g[s]
            mrow[s] = m
            hrow[s] = m - g[s]
    if t < first:
        nan_row(out_macd + t * S, W)
        nan_row(out_signal + t * S, W)
        nan_row(out_hist + t * S, W)
        return
    if t == first:
        # Covers signal == 1 too, where the first output bar is the seeding bar.
        if sig == 1 and t == slow - 1:
            for s in range(W):
                g[s] = g[s] / sig
        for s in range(W):
            hrow[s] = mrow[s] - g[s]
    sk_stream_copy(out_macd + t * S, mrow, W)
    sk_stream_copy(out_signal + t * S, g, W)
    sk_stream_copy(out_hist + t * S, hrow, W)


cdef inline void bb_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                        Py_ssize_t p, double nbdev, double* state, double* upper,
                        double* middle, double* lower) noexcept nogil:
    """Bollinger bands from window sums relative to a per-series anchor (see _window_sums)."""
    cdef double* k = state + BB_ANCHOR * STRIDE
    cdef double* s1 = state + BB_S1 * STRIDE
    cdef double* s2 = state + BB_S2 * STRIDE
    cdef double* tm = state + TMP0 * STRIDE
    cdef double* tu = state + TMP1 * STRIDE
    cdef double* tl = state + TMP2 * STRIDE
    cdef const double* x = c + t * S
    cdef const double* xo = c + (t - p) * S
    cdef double inv = 1.0 / p
    cdef double d, m, v, dev
    cdef Py_ssize_t s
    if t < p - 1:
        nan_row(upper + t * S, W)
        nan_row(middle + t * S, W)
        nan_row(lower + t * S, W)
        return
    if t == p - 1:
        sum_rows(c, 0, t, S, W, k)
        for s in range(W):
            k[s] = k[s] / p
        anchored_sums(c, t, S, W, p, k, s1, s2)
    else:
        for s in range(W):
            d = x[s] - xo[s]
            s1[s] += d
            s2[s] += d * ((x[s] - k[s]) + (xo[s] - k[s]))
    for s in range(W):
        m = s1[s] * inv
        v = s2[s] * inv - m * m
        v = v if v > 0.0 else 0.0
        dev = sqrt(v) * nbdev
        tm[s] = k[s] + m
        tu[s] = tm[s] + dev
        tl[s] = tm[s] - dev
    sk_stream_copy(upper + t * S, tu, W)
    sk_stream_copy(middle + t * S, tm, W)
    sk_stream_copy(lower + t * S, tl, W)


cdef inline void bb_after_row(const double* c, Py_ssize_t t, Py_ssize_t S, Py_ssize_t W,
                              Py_ssize_t p, double* state) noexcept nogil:
    """Keep the Bollinger sums accurate: move the anchor onto the mean every few bars (exact
    identities) and recompute the sums from the data now and then (bounds their drift)."""
    cdef double* k = state + BB_ANCHOR * STRIDE
    cdef double* s1 = state + BB_S1 * STRIDE
    cdef double* s2 = state + BB_S2 * STRIDE
    cdef double inv = 1.0 / p
    cdef double knew, delta
    cdef Py_ssize_t s, age = t - p + 1
    if age < 1:
        return
    if age % BB_RECOMPUTE_EVERY == 0:
        for s in range(W):
            k[s] = k[s] + s1[s] * inv
        anchored_sums(c, t, S, W, p, k, s1, s2)
    elif age % BB_RECENTER_EVERY == 0:
        for s in range(W):
            knew = k[s] + s1[s] * inv
            delta = knew - k[s]
            s2[s] = s2[s] - 2.0 * delta * s1[s] + p * delta * delta
            s1[s] = s1[s] - p * delta
            k[s] = knew
