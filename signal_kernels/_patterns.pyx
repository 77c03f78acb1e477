# cython: language_level=3
"""Chart-pattern detectors: cup and handle, and Elliott impulse wave labelling."""

from libc.math cimport fabs, log

import numpy as np

cimport numpy as cnp

from signal_kernels._arrays cimport as_series
from signal_kernels._results import CupAndHandle, ElliottWave

cnp.import_array()


cdef inline double clamp01(double v) noexcept nogil:
    return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


cdef bint is_local_max(const double* x, Py_ssize_t n, Py_ssize_t i, Py_ssize_t w) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(max(0, i - w), min(n, i + w + 1)):
        if x[j] > x[i] or x[j] != x[j]:
            return False
    return True


cdef double cup_roundness(const double* x, Py_ssize_t a, Py_ssize_t c, double rim,
                          double bottom) noexcept nogil:
    """Share of the cup's bars below its half-depth level: ~0.5 for a V, ~0.7 for a U."""
    cdef double mid = 0.5 * (rim + bottom)
    cdef Py_ssize_t j, below = 0
    for j in range(a, c + 1):
        below += x[j] < mid
    return clamp01((below / <double>(c - a + 1) - 0.45) / (0.68 - 0.45))


cdef bint score_cup(const double* x, Py_ssize_t n, Py_ssize_t a, Py_ssize_t c,
                    CupRules* r, CupCandidate* out) noexcept nogil:
    """Check the cup a..c and its handle against the rules; fill `out` if it qualifies."""
    cdef double left = x[a], right = x[c], rim = left if left > right else right
    cdef double low = x[a], hlow, depth, hdepth, pos, quality
    cdef Py_ssize_t b = a, j, hl, hend, cup_len = c - a, max_handle
    if not (left > 0.0 and fabs(right - left) <= r.rim_tolerance * left):
        return False
    for j in range(a + 1, c):
        if x[j] != x[j] or x[j] > rim * (1.0 + 0.5 * r.rim_tolerance):
            return False
        if x[j] < low:
            low, b = x[j], j
    depth = (left - low) / left
    pos = (b - a) / <double>cup_len
    if not (r.min_depth <= depth <= r.max_depth and 0.2 <= pos <= 0.8):
        return False
    # Handle: the pullback after the right rim, up to a breakout above it or the data end.
    max_handle = <Py_ssize_t>(r.max_handle_fraction * cup_len)
    hl, hlow, hend = c, right, c
    for j in range(c + 1, min(n, c + max_handle + 1)):
        if x[j] != x[j]:
            break
        if x[j] > rim:
            break
        hend = j
        if x[j] < hlow:
            hlow, hl = x[j], j
    if hend - c < r.min_handle_bars or hl == c:
        return False
    hdepth = (right - hlow) / (right - low)
    if not (0.05 <= hdepth <= r.max_handle_retrace):
        return False
    quality = (
        (1.0 - fabs(right - left) / (r.rim_tolerance * left))
        + (1.0 if depth <= 0.33 else clamp01(1.0 - (depth - 0.33) / (r.max_depth - 0.33 + 1e-12)))
        + clamp01(1.0 - fabs(pos - 0.5) / 0.3)
        + cup_roundness(x, a, c, rim, low)
        + (1.0 if hdepth <= 1.0 / 3.0 else
           clamp01(1.0 - (hdepth - 1.0 / 3.0) / (r.max_handle_retrace - 1.0 / 3.0 + 1e-12)))
        + (1.0 if (hend - c) <= cup_len / 4.0 else
           clamp01(1.0 - ((hend - c) / <double>cup_len - 0.25) / (r.max_handle_fraction - 0.25 + 1e-12)))
    ) / 6.0
    out.left_rim, out.bottom, out.right_rim = a, b, c
    out.handle_low, out.handle_end = hl, hend
    out.depth, out.handle_depth, out.quality = depth, hdepth, clamp01(quality)
    return True


cdef Py_ssize_t cup_candidates(const double* x, Py_ssize_t n, CupRules* rules,
                               CupCandidate* found) noexcept nogil:
    """Best-scoring cup for every right-rim candidate; returns how many were found."""
    cdef Py_ssize_t w = max(2, rules.min_cup_bars // 8), count = 0, a, c
    cdef CupCandidate cand, best
    for c in range(rules.min_cup_bars, n):
        if not is_local_max(x, n, c, w):
            continue
        best.quality = -1.0
        for a in range(max(0, c - rules.max_cup_bars), c - rules.min_cup_bars + 1):
            if is_local_max(x, n, a, w) and score_cup(x, n, a, c, rules, &cand):
                if cand.quality > best.quality:
                    best = cand
        if best.quality >= 0.0:
            found[count] = best
            count += 1
    return count


def find_cup_and_handle(close, *, Py_ssize_t min_cup_bars=20, Py_ssize_t max_cup_bars=250,
                        double min_depth=0.12, double max_depth=0.5,
                        double rim_tolerance=0.05, Py_ssize_t min_handle_bars=3,
                        double max_handle_retrace=0.5, double max_handle_fraction=0.5,
                        double min_quality=0.0):
    """Cup-and-handle bases in a price series, best first among overlapping ones.

    A cup runs between two local highs within `rim_tolerance` of each other, `min_cup_bars`
    to `max_cup_bars` apart, with its low `min_depth`..`max_depth` below the left rim, near
    the middle, and no bar above the rims. The handle follows the right rim: at least
    `min_handle_bars` long, at most `max_handle_fraction` of the cup, retracing 5% to
    `max_handle_retrace` of the cup's depth, ending before a breakout above the rim. Returns
    non-overlapping `CupAndHandle` results ordered by their left rim.
    """
    cdef cnp.ndarray x = as_series(close, "close")
    cdef Py_ssize_t n = x.shape[0]
    if min_cup_bars < 3 or max_cup_bars < min_cup_bars:
        raise ValueError(f"need 3 <= min_cup_bars <= max_cup_bars, got {min_cup_bars}, "
                         f"{max_cup_bars}")
    if not (0.0 < min_depth < max_depth < 1.0):
        raise ValueError(f"need 0 < min_depth < max_depth < 1, got {min_depth}, {max_depth}")
    if min_handle_bars < 1:
        raise ValueError(f"min_handle_bars must be >= 1, got {min_handle_bars}")
    cdef CupRules rules
    rules.min_cup_bars, rules.max_cup_bars = min_cup_bars, max_cup_bars
    rules.min_depth, rules.max_depth, rules.rim_tolerance = min_depth, max_depth, rim_tolerance
    rules.min_handle_bars, rules.max_handle_retrace = min_handle_bars, max_handle_retrace
    rules.max_handle_fraction = max_handle_fraction
    cdef cnp.ndarray buf = np.empty(max(n, 1) * sizeof(CupCandidate), dtype=np.uint8)
    cdef CupCandidate* found = <CupCandidate*>cnp.PyArray_DATA(buf)
    cdef Py_ssize_t count, i
    with nogil:
        count = cup_candidates(<const double*>cnp.PyArray_DATA(x), n, &rules, found)
    chosen = []
    for i in sorted(range(count), key=lambda k: -found[k].quality):
        cand = found[i]
        if cand.quality < min_quality:
            continue
        if any(cand.left_rim <= o.handle_end and o.left_rim <= cand.handle_end for o in chosen):
            continue
        chosen.append(CupAndHandle(
            left_rim=cand.left_rim, bottom=cand.bottom, right_rim=cand.right_rim,
            handle_low=cand.handle_low, handle_end=cand.handle_end,
            breakout_level=float(max(x[cand.left_rim], x[cand.right_rim])),
            depth=cand.depth, handle_depth=cand.handle_depth, quality=cand.quality,
        ))
    return sorted(chosen, key=lambda o: o.left_rim)


# Impulse rule bits (see IMPULSE_RULES for their names).
cdef enum:
    WAVE2_BEYOND_START = 1
    WAVE3_NOT_BEYOND_WAVE1 = 2
    WAVE4_OVERLAPS_WAVE1 = 4
    WAVE3_SHORTEST = 8

IMPULSE_RULES = {
    WAVE2_BEYOND_START: "wave 2 retraces beyond the start of wave 1",
    WAVE3_NOT_BEYOND_WAVE1: "wave 3 does not go beyond the end of wave 1",
    WAVE4_OVERLAPS_WAVE1: "wave 4 overlaps wave 1 territory",
    WAVE3_SHORTEST: "wave 3 is the shortest of waves 1, 3 and 5",
}


cdef int impulse_violations(const double* p, Py_ssize_t count, bint last_final) noexcept nogil:
    """Bit set of broken impulse rules for pivot prices p[0] (start) .. p[count-1].

    Wave k runs from p[k-1] to p[k]. With `last_final` false the last wave is still in
    progress, so a rule it could still satisfy (wave 3 not the shortest) is not applied.
    """
    cdef double d = 1.0 if p[1] > p[0] else -1.0
    cdef double len1, len3, len5
    cdef int bad = 0
    if count >= 3 and d * (p[2] - p[0]) <= 0.0:
        bad |= WAVE2_BEYOND_START
    if count >= 4 and (last_final or count > 4) and d * (p[3] - p[1]) <= 0.0:
        bad |= WAVE3_NOT_BEYOND_WAVE1
    if count >= 5 and d * (p[4] - p[1]) <= 0.0:
        bad |= WAVE4_OVERLAPS_WAVE1
    if count >= 6:
        len1, len3, len5 = fabs(p[1] - p[0]), fabs(p[3] - p[2]), fabs(p[5] - p[4])
        # An unfinished wave 5 can still end up shorter than wave 3, but not shorter again.
        if len3 < len1 and len3 < len5:
            bad |= WAVE3_SHORTEST
    return bad


def impulse_rule_violations(prices):
    """Names of the Elliott impulse rules broken by pivot prices (start, end of wave 1, ...).

    Takes 2 to 6 alternating pivot prices; an empty tuple means the count is valid so far.
    """
    cdef cnp.ndarray p = as_series(prices, "prices")
    cdef Py_ssize_t n = p.shape[0]
    if not 2 <= n <= 6:
        raise ValueError(f"need 2 to 6 pivot prices, got {n}")
    cdef int bad = impulse_violations(<const double*>cnp.PyArray_DATA(p), n, True)
    return tuple(name for bit, name in IMPULSE_RULES.items() if bad & bit)


cdef double ratio_score(double ratio, double ideal, double spread) noexcept nogil:
    """1 at the ideal Fibonacci ratio, falling to 0 `spread` away in log terms."""
    if not ratio > 0.0:
        return 0.0
    return clamp01(1.0 - fabs(log(ratio / ideal)) / spread)


cdef double impulse_fit(const double* p, Py_ssize_t count) noexcept nogil:
    """Mean closeness of the wave proportions to the common Fibonacci guidelines."""
    cdef double lens[6]
    cdef double total = 0.0
    cdef int k, parts = 0
    for k in range(1, count):
        lens[k] = fabs(p[k] - p[k - 1])
    if count >= 3:
        total += ratio_score(lens[2] / lens[1], 0.559, 0.9)
        parts += 1
    if count >= 4:
        total += ratio_score(lens[3] / lens[1], 1.618, 0.9)
        parts += 1
    if count >= 5:
        total += ratio_score(lens[4] / lens[3], 0.382, 0.9)
        parts += 1
    if count >= 6:
        total += ratio_score(lens[5] / lens[1], 1.0, 0.9)
        parts += 1
    return total / parts if parts else 0.0


def elliott_wave(pivots, *, bint include_unconfirmed=True):
    """Label the latest pivots as an Elliott impulse and say which wave is in progress.

    Tries every impulse start among the last six pivots that ends at the latest one (and a
    finished five-wave impulse ending just before it), keeps those that break none of the
    impulse rules (wave 2 never beyond the start of wave 1,
    wave 3 beyond wave 1 and not the shortest, wave 4 out of wave 1's territory) and returns
    the one covering the most waves (ties: best Fibonacci fit) as `ElliottWave`, or None.
    """
    cdef Py_ssize_t m = len(pivots)
    if m and not include_unconfirmed and not pivots.confirmed[m - 1]:
        m -= 1
    if m < 3:
        return None
    cdef cnp.ndarray prices = np.ascontiguousarray(pivots.price[:m], dtype=np.float64)
    cdef const double* p = <const double*>cnp.PyArray_DATA(prices)
    cdef bint last_final = bool(pivots.confirmed[m - 1])
    cdef Py_ssize_t s, count, waves, end
    cdef double fit, confidence
    best = None
    # Counts ending at the latest pivot, plus a finished five-wave impulse ending at the
    # pivot before it (the move since then being the start of the correction).
    for s in range(max(0, m - 7), m - 2):
        end = m if s >= m - 6 else m - 1
        count = end - s
        if impulse_violations(p + s, count, last_final or end < m):
            continue
        waves = count - 1
        fit = impulse_fit(p + s, count)
        confidence = clamp01((0.2 + 0.8 * fit) * (0.4 + 0.6 * waves / 5.0))
        key = (waves, confidence)
        if best is None or key > best[0]:
            best = (key, s, end)
    if best is None:
        return None
    (waves, confidence), s, end = best
    final = last_final or end < m
    complete = waves == 5 and final
    wave = waves if not final or waves == 5 else waves + 1
    return ElliottWave(
        direction=1 if p[s + 1] > p[s] else -1,
        wave=int(wave),
        complete=bool(complete),
        pivot_index=tuple(int(i) for i in pivots.index[s:end]),
        confidence=float(confidence),
    )
