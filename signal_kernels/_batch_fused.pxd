# cython: language_level=3
"""The batch kernels' steady-state bar, all six indicators in one pass (header-only C).

Once every indicator is past its warm-up, a bar's update is the same arithmetic for every
series: one loop over the tile (SSE2, the x86-64 baseline) updates all the state and
assembles the ten output rows in L1 scratch, which the caller then streams out row by row
(interleaving ten non-temporal streams would defeat the write-combining buffers). The
arithmetic is exactly that of the per-indicator row functions in _batch_rows (which still
run the warm-up bars, and everything on targets without SSE2).
"""

cdef extern from *:
    """
    #include <math.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #define SK_HAVE_FUSED_ROW 1
    #else
    #define SK_HAVE_FUSED_ROW 0
    #endif

    typedef struct {
        const double *x, *xprev, *xo_sma, *xo_bb, *h, *l;
        double *sma_anchor, *sma_sum, *ema, *rsi_g, *rsi_l, *atr, *mf, *ms, *mg;
        double *bbk, *bbs1, *bbs2;
        double *o[10];
        double sma_inv, ema_k, rsi_a, atr_a, atr_b, kf, ks, kg, bb_inv, bb_nbdev;
    } SkRow;

    static inline void sk_row_scalar(const SkRow *r, Py_ssize_t s) {
        double x = r->x[s], xp = r->xprev[s], d, up, dn, g, l, q, tr, v, f, sl, sg, m;
        double k, xo, s1, s2, var, dev, mid;
        r->sma_sum[s] += x - r->xo_sma[s];
        r->o[0][s] = r->sma_anchor[s] + r->sma_sum[s] * r->sma_inv;
        r->ema[s] = (x - r->ema[s]) * r->ema_k + r->ema[s];
        r->o[1][s] = r->ema[s];
        d = x - xp;
        up = d < 0.0 ? 0.0 : d;
        dn = d < 0.0 ? -d : 0.0;
        g = r->rsi_a * r->rsi_g[s] + up;
        l = r->rsi_a * r->rsi_l[s] + dn;
        r->rsi_g[s] = g;
        r->rsi_l[s] = l;
        q = 100.0 * (g / (g + l));
        r->o[2][s] = q == q ? q : 0.0;
        tr = r->h[s] - r->l[s];
        v = fabs(xp - r->h[s]);
        tr = v > tr ? v : tr;
        v = fabs(xp - r->l[s]);
        tr = v > tr ? v : tr;
        r->atr[s] = r->atr_a * r->atr[s] + r->atr_b * tr;
        r->o[3][s] = r->atr[s];
        f = (x - r->mf[s]) * r->kf + r->mf[s];
        sl = (x - r->ms[s]) * r->ks + r->ms[s];
        m = f - sl;
        sg = (m - r->mg[s]) * r->kg + r->mg[s];
        r->mf[s] = f;
        r->ms[s] = sl;
        r->mg[s] = sg;
        r->o[4][s] = m;
        r->o[5][s] = sg;
        r->o[6][s] = m - sg;
        k = r->bbk[s];
        xo = r->xo_bb[s];
        d = x - xo;
        s1 = r->bbs1[s] + d;
        s2 = r->bbs2[s] + d * ((x - k) + (xo - k));
        r->bbs1[s] = s1;
        r->bbs2[s] = s2;
        m = s1 * r->bb_inv;
        var = s2 * r->bb_inv - m * m;
        var = var > 0.0 ? var : 0.0;
        dev = sqrt(var) * r->bb_nbdev;
        mid = k + m;
        r->o[7][s] = mid + dev;
        r->o[8][s] = mid;
        r->o[9][s] = mid - dev;
    }

    #if defined(__GNUC__)
    #define SK_ALWAYS_INLINE static inline __attribute__((always_inline))
    #else
    #define SK_ALWAYS_INLINE static inline
    #endif

    #if SK_HAVE_FUSED_ROW
    #define SK_LD(p) _mm_loadu_pd((p) + s)
    #define SK_ST(p, v) _mm_storeu_pd((p) + s, (v))
    SK_ALWAYS_INLINE void sk_row_pair(const SkRow *r, Py_ssize_t s) {
        const __m128d zero = _mm_setzero_pd(), sign = _mm_set1_pd(-0.0);
        __m128d x = SK_LD(r->x), xp = SK_LD(r->xprev), d, up, dn, g, l, q, tr, v, f, sl, sg;
        __m128d m, k, xo, s1, s2, var, dev, mid, out[10];
        __m128d total = _mm_add_pd(SK_LD(r->sma_sum), _mm_sub_pd(x, SK_LD(r->xo_sma)));
        SK_ST(r->sma_sum, total);
        out[0] = _mm_add_pd(SK_LD(r->sma_anchor), _mm_mul_pd(total, _mm_set1_pd(r->sma_inv)));
        __m128d y = SK_LD(r->ema);
        y = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(x, y), _mm_set1_pd(r->ema_k)), y);
        SK_ST(r->ema, y);
        out[1] = y;
        d = _mm_sub_pd(x, xp);
        __m128d neg = _mm_cmplt_pd(d, zero);
        up = _mm_andnot_pd(neg, d);
        dn = _mm_and_pd(neg, _mm_xor_pd(d, sign));
        g = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(r->rsi_a), SK_LD(r->rsi_g)), up);
        l = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(r->rsi_a), SK_LD(r->rsi_l)), dn);
        SK_ST(r->rsi_g, g);
        SK_ST(r->rsi_l, l);
        q = _mm_mul_pd(_mm_set1_pd(100.0), _mm_div_pd(g, _mm_add_pd(g, l)));
        out[2] = _mm_and_pd(_mm_cmpeq_pd(q, q), q);
        __m128d hi = SK_LD(r->h), lo = SK_LD(r->l);
        tr = _mm_sub_pd(hi, lo);
        v = _mm_andnot_pd(sign, _mm_sub_pd(xp, hi));
        tr = _mm_max_pd(v, tr);
        v = _mm_andnot_pd(sign, _mm_sub_pd(xp, lo));
        tr = _mm_max_pd(v, tr);
        __m128d atr = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(r->atr_a), SK_LD(r->atr)),
                                 _mm_mul_pd(_mm_set1_pd(r->atr_b), tr));
        SK_ST(r->atr, atr);
        out[3] = atr;
        f = SK_LD(r->mf);
        f = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(x, f), _mm_set1_pd(r->kf)), f);
        sl = SK_LD(r->ms);
        sl = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(x, sl), _mm_set1_pd(r->ks)), sl);
        m = _mm_sub_pd(f, sl);
        sg = SK_LD(r->mg);
        sg = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(m, sg), _mm_set1_pd(r->kg)), sg);
        SK_ST(r->mf, f);
        SK_ST(r->ms, sl);
        SK_ST(r->mg, sg);
        out[4] = m;
        out[5] = sg;
        out[6] = _mm_sub_pd(m, sg);
        k = SK_LD(r->bbk);
        xo = SK_LD(r->xo_bb);
        d = _mm_sub_pd(x, xo);
        s1 = _mm_add_pd(SK_LD(r->bbs1), d);
        s2 = _mm_add_pd(SK_LD(r->bbs2),
                        _mm_mul_pd(d, _mm_add_pd(_mm_sub_pd(x, k), _mm_sub_pd(xo, k))));
        SK_ST(r->bbs1, s1);
        SK_ST(r->bbs2, s2);
        m = _mm_mul_pd(s1, _mm_set1_pd(r->bb_inv));
        var = _mm_sub_pd(_mm_mul_pd(s2, _mm_set1_pd(r->bb_inv)), _mm_mul_pd(m, m));
        var = _mm_max_pd(var, zero);
        dev = _mm_mul_pd(_mm_sqrt_pd(var), _mm_set1_pd(r->bb_nbdev));
        mid = _mm_add_pd(k, m);
        out[7] = _mm_add_pd(mid, dev);
        out[8] = mid;
        out[9] = _mm_sub_pd(mid, dev);
        for (int j = 0; j < 10; j++) _mm_storeu_pd(r->o[j] + s, out[j]);
    }
    #undef SK_LD
    #undef SK_ST
    #endif

    static void sk_fused_row(const SkRow *args, Py_ssize_t W) {
        /* A local copy the stores cannot alias (vector stores may alias anything reachable
         * through a pointer), so the pointers and constants stay in registers. */
        const SkRow local = *args;
        const SkRow *r = &local;
        Py_ssize_t s = 0;
    #if SK_HAVE_FUSED_ROW
        for (; s + 2 <= W; s += 2) sk_row_pair(r, s);
    #endif
        for (; s < W; s++) sk_row_scalar(r, s);
    }
    """
    ctypedef struct SkRow:
        const double* x
        const double* xprev
        const double* xo_sma
        const double* xo_bb
        const double* h
        const double* l
        double* sma_anchor
        double* sma_sum
        double* ema
        double* rsi_g
        double* rsi_l
        double* atr
        double* mf
        double* ms
        double* mg
        double* bbk
        double* bbs1
        double* bbs2
        double* o[10]
        double sma_inv
        double ema_k
        double rsi_a
        double atr_a
        double atr_b
        double kf
        double ks
        double kg
        double bb_inv
        double bb_nbdev
    void sk_fused_row(const SkRow* r, Py_ssize_t W) noexcept nogil
    const int SK_HAVE_FUSED_ROW
