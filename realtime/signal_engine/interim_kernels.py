"""INTERIM NumPy stand-ins for signal_kernels functions that do not exist yet.

Issue 4 wants every numeric step on ``signal_kernels``; ``features.py`` calls the kernel
when ``signal_kernels`` exports it and falls back to the function of the same concept here
otherwise. Everything works on bars-major panels, shape ``(n_bars, n_series)``, with
leading NaN for series shorter than the panel, and is vectorised across series (the loops
run over bars, never over tickers). Delete each function once its kernel lands.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Pivots kept per series (enough for a five-wave impulse plus its start).
PIVOT_SLOTS = 8


def wilder_atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """ATR with Wilder smoothing (TA-Lib seeding) per column; NaN where undefined."""
    n_bars, n_series = close.shape
    prev_close = np.vstack([np.full((1, n_series), np.nan), close[:-1]])
    true_range = np.fmax(high - low, np.fmax(np.abs(high - prev_close), np.abs(low - prev_close)))
    true_range[np.isnan(prev_close)] = np.nan
    out = np.full_like(close, np.nan)
    start = _first_valid(true_range)
    state = np.full(n_series, np.nan)
    for t in range(n_bars):
        seed_now = start + period - 1 == t
        if seed_now.any():
            cols = np.flatnonzero(seed_now)
            state[cols] = np.array(
                [true_range[t - period + 1 : t + 1, c].mean() for c in cols], dtype=np.float64
            )
        running = t > start + period - 1
        state = np.where(running, (state * (period - 1) + true_range[t]) / period, state)
        out[t] = np.where(t >= start + period - 1, state, np.nan)
    return out


def wilder_rsi(close: FloatArray, period: int) -> FloatArray:
    """RSI with Wilder smoothing (TA-Lib seeding) per column; NaN where undefined."""
    n_bars, n_series = close.shape
    change = np.vstack([np.full((1, n_series), np.nan), np.diff(close, axis=0)])
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    start = _first_valid(change)
    avg_gain = np.full(n_series, np.nan)
    avg_loss = np.full(n_series, np.nan)
    out = np.full_like(close, np.nan)
    for t in range(n_bars):
        seed_now = start + period - 1 == t
        if seed_now.any():
            cols = np.flatnonzero(seed_now)
            avg_gain[cols] = gain[t - period + 1 : t + 1, cols].mean(axis=0)
            avg_loss[cols] = loss[t - period + 1 : t + 1, cols].mean(axis=0)
        running = t > start + period - 1
        avg_gain = np.where(running, (avg_gain * (period - 1) + gain[t]) / period, avg_gain)
        avg_loss = np.where(running, (avg_loss * (period - 1) + loss[t]) / period, avg_loss)
        total = avg_gain + avg_loss
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(total > 0, 100.0 * avg_gain / total, 0.0)
        out[t] = np.where(t >= start + period - 1, value, np.nan)
    return out


def _first_valid(panel: FloatArray) -> IntArray:
    """Row of each column's first finite value (n_bars when none)."""
    finite = np.isfinite(panel)
    first: IntArray = np.argmax(finite, axis=0).astype(np.int64)
    first[~finite.any(axis=0)] = panel.shape[0]
    return first


def zigzag_pivots(
    high: FloatArray, low: FloatArray, atr: FloatArray, atr_multiple: float, min_pct: float
) -> tuple[FloatArray, IntArray, IntArray, FloatArray, IntArray]:
    """Swing pivots by zigzag: a reversal of ``max(atr_multiple * ATR, min_pct * price)``.

    Returns ``(pivot_price, pivot_bar, pivot_kind, leg_extreme, leg_direction)``: the last
    ``PIVOT_SLOTS`` confirmed pivots per series, newest last (kind +1 high, -1 low, 0 empty
    slot), the running extreme of the unconfirmed leg and its direction (+1 up, -1 down,
    0 not started). Only bars up to the panel's last row are read, so it is causal.
    """
    n_bars, n_series = high.shape
    price = np.full((n_series, PIVOT_SLOTS), np.nan)
    bar = np.full((n_series, PIVOT_SLOTS), -1, dtype=np.int64)
    kind = np.zeros((n_series, PIVOT_SLOTS), dtype=np.int64)
    direction = np.zeros(n_series, dtype=np.int64)
    hi_ext = np.full(n_series, -np.inf)
    lo_ext = np.full(n_series, np.inf)
    hi_bar = np.zeros(n_series, dtype=np.int64)
    lo_bar = np.zeros(n_series, dtype=np.int64)

    def push(rows: npt.NDArray[np.bool_], p: FloatArray, b: IntArray, k: int) -> None:
        idx = np.flatnonzero(rows)
        price[idx, :-1] = price[idx, 1:]
        bar[idx, :-1] = bar[idx, 1:]
        kind[idx, :-1] = kind[idx, 1:]
        price[idx, -1] = p[idx]
        bar[idx, -1] = b[idx]
        kind[idx, -1] = k

    for t in range(n_bars):
        h, lo = high[t], low[t]
        valid = np.isfinite(h) & np.isfinite(lo)
        threshold = np.fmax(np.nan_to_num(atr[t] * atr_multiple, nan=0.0), min_pct * h)
        new_hi = valid & (h > hi_ext)
        hi_ext = np.where(new_hi, h, hi_ext)
        hi_bar = np.where(new_hi, t, hi_bar)
        new_lo = valid & (lo < lo_ext)
        lo_ext = np.where(new_lo, lo, lo_ext)
        lo_bar = np.where(new_lo, t, lo_bar)
        # Up leg reverses (or an unstarted series starts falling): the high is a pivot.
        top = valid & (direction >= 0) & (hi_ext - lo >= threshold) & (hi_bar < t)
        top &= (direction == 1) | (hi_bar > lo_bar)
        # Down leg reverses (or an unstarted series starts rising): the low is a pivot.
        bottom = valid & (direction <= 0) & (h - lo_ext >= threshold) & (lo_bar < t)
        bottom &= (direction == -1) | (lo_bar > hi_bar) | ((direction == 0) & ~top)
        if top.any():
            push(top, hi_ext, hi_bar, 1)
            direction = np.where(top, -1, direction)
            lo_ext = np.where(top, lo, lo_ext)
            lo_bar = np.where(top, t, lo_bar)
        if bottom.any():
            push(bottom, lo_ext, lo_bar, -1)
            direction = np.where(bottom, 1, direction)
            hi_ext = np.where(bottom, h, hi_ext)
            hi_bar = np.where(bottom, t, hi_bar)
    extreme = np.where(direction == 1, hi_ext, np.where(direction == -1, lo_ext, np.nan))
    return price, bar, kind, extreme, direction


def cup_and_handle(close: FloatArray, span: int) -> tuple[FloatArray, FloatArray]:
    """Cup & handle over the last ``span`` bars: ``(quality in [0, 1], rim price)``.

    A cup is a rounded dip of 8-40 % between two rims within 6 % of each other; the handle
    (last tenth) pulls back less than half the cup's depth and stays in its upper half.
    """
    window = close[-span:]
    third = span // 3
    handle_len = max(2, span // 10)
    with np.errstate(invalid="ignore", divide="ignore"), _QuietNanWarnings():
        left_rim = np.nanmax(window[:third], axis=0)
        bottom = np.nanmin(window[third : 2 * third], axis=0)
        right_rim = np.nanmax(window[2 * third : span - handle_len], axis=0)
        handle_low = np.nanmin(window[span - handle_len :], axis=0)
        rim = np.fmax(left_rim, right_rim)
        depth = (rim - bottom) / rim
        rim_gap = np.abs(left_rim - right_rim) / rim
        handle_drop = (right_rim - handle_low) / np.fmax(rim - bottom, 1e-12)
    depth_ok = np.clip(1.0 - np.abs(depth - 0.2) / 0.2, 0.0, 1.0)
    rims_ok = np.clip(1.0 - rim_gap / 0.06, 0.0, 1.0)
    handle_ok = np.where(handle_drop >= 0, np.clip(1.0 - handle_drop / 0.5, 0.0, 1.0), 0.0)
    quality = np.nan_to_num(depth_ok * rims_ok * handle_ok, nan=0.0)
    complete = np.isfinite(window[0])
    return np.where(complete, quality, np.nan), rim


def elliott_position(
    pivot_price: FloatArray, pivot_kind: IntArray, leg_direction: IntArray
) -> tuple[IntArray, FloatArray]:
    """Current wave of a five-wave impulse from the last pivots: ``(signed wave, confidence)``.

    The wave is +1..+5 inside a rising impulse, -1..-5 inside a falling one, +6/-6 after a
    completed impulse (correction due), 0 when no count fits. Impulse rules enforced: wave 2
    never retraces past the start of wave 1, wave 3 is not the shortest, wave 4 does not
    overlap wave 1.
    """
    n = pivot_price.shape[0]
    wave = np.zeros(n, dtype=np.int64)
    confidence = np.zeros(n, dtype=np.float64)
    for sign in (1, -1):
        # Express falling impulses as rising ones by negating prices.
        p = pivot_price * sign
        k = pivot_kind * sign
        # Confirmed pivots of the count end at the last slot; the current leg is in progress.
        for confirmed, in_progress_wave in ((6, 6), (5, 5), (4, 4), (3, 3), (2, 2)):
            segment = p[:, -confirmed:]
            kinds = k[:, -confirmed:]
            expect = np.array([-1 if i % 2 == 0 else 1 for i in range(confirmed)])
            fits = np.all(kinds == expect, axis=1)
            leg_ok = leg_direction * sign == (1 if confirmed % 2 == 1 else -1)
            fits &= leg_ok if confirmed < 6 else True
            w = np.diff(segment, axis=1)  # signed wave lengths
            if confirmed >= 3:
                fits &= segment[:, 2] > segment[:, 0]  # wave 2 holds above wave 1's start
            if confirmed >= 4:
                fits &= w[:, 2] > 0
            if confirmed >= 5:
                fits &= segment[:, 4] > segment[:, 1]  # wave 4 no overlap with wave 1
            if confirmed >= 6:
                waves = np.abs(w[:, [0, 2, 4]])
                fits &= waves[:, 1] >= np.minimum(waves[:, 0], waves[:, 2])
            fits &= wave == 0
            if confirmed >= 3:
                retrace = (segment[:, 1] - segment[:, 2]) / np.fmax(w[:, 0], 1e-12)
                conf = np.clip(1.0 - np.abs(retrace - 0.55) / 0.6, 0.2, 1.0)
            else:
                conf = np.full(n, 0.3)
            wave = np.where(fits, sign * in_progress_wave, wave)
            confidence = np.where(fits, conf * (0.5 + 0.1 * confirmed), confidence)
    return wave, np.clip(np.nan_to_num(confidence), 0.0, 1.0)


class _QuietNanWarnings:
    """Silence NumPy's all-NaN slice warning: a short series legitimately has no cup."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
