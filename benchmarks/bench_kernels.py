"""Benchmark the Cython signal kernels against TA-Lib, in the same process on the same data.

What is timed (each figure is the minimum over repeats, after a warm-up, with the garbage
collector off; TA-Lib and our calls alternate within every repeat so both see the same
machine state):

* single: SMA(20), EMA(20), RSI(14), ATR(14), MACD(12,26,9) and BBANDS(20,2) on one series
  of 1,000,000 bars. `single_ratio_vs_talib` is the sum of our six public calls
  (`sma`, `ema`, `rsi`, `atr`, `macd`, `bbands`) over the sum of TA-Lib's six calls.
  `single_fused_ratio_vs_talib` is our one `indicators_all` call (allocating its ten output
  arrays, all alive at once) over the same TA-Lib sum; `single_fused_into_ratio_vs_talib`
  the same call writing into a reused result (`out=`), as a signal engine would.
* batch: the same six indicators for 3000 series x 300 bars. TA-Lib is called per series
  in a Python loop on series-major rows (its natural layout: one contiguous array per
  series); ours is one `batch_indicators` call on the bars-major (300, 3000) arrays into
  preallocated outputs. `batch_ratio_vs_talib` is ours over TA-Lib's.
* `max_abs_diff_vs_talib`: the largest |ours - TA-Lib| over every output of both runs where
  TA-Lib's value is finite; NaN/inf positions must coincide exactly (reported separately).

`--quick` uses 200,000 bars and 1000 series so the run takes a few seconds. The last line
printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# BLAS is not used here; its idle threads only add noise on a 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import talib

import signal_kernels as sk

SEED = 20240611


def minute_bars(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A geometric random walk of 1-minute bars around 100 (0.05% per-bar volatility)."""
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0005, n)))
    high = close * (1.0 + np.abs(rng.normal(0.0, 0.0003, n)))
    low = close * (1.0 - np.abs(rng.normal(0.0, 0.0003, n)))
    return high, low, close


def daily_panel(
    n_bars: int, n_series: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bars-major (n_bars, n_series) daily random walks, 1.5% daily volatility."""
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, (n_bars, n_series)), axis=0))
    high = close * (1.0 + np.abs(rng.normal(0.0, 0.008, (n_bars, n_series))))
    low = close * (1.0 - np.abs(rng.normal(0.0, 0.008, (n_bars, n_series))))
    return high, low, close


def best_times(pairs: list[tuple[Callable[[], Any], ...]], repeats: int) -> list[list[float]]:
    """Minimum seconds of each callable; the callables of a pair alternate every repeat."""
    for group in pairs:
        for fn in group:
            fn()
    best = [[float("inf")] * len(group) for group in pairs]
    for _ in range(repeats):
        for i, group in enumerate(pairs):
            for j, fn in enumerate(group):
                start = time.perf_counter_ns()
                fn()
                elapsed = (time.perf_counter_ns() - start) * 1e-9
                best[i][j] = min(best[i][j], elapsed)
    return best


class Agreement:
    """Largest finite difference and NaN/inf-mask mismatches between ours and TA-Lib."""

    def __init__(self) -> None:
        self.max_abs_diff = 0.0
        self.mask_mismatches = 0

    def add(self, ours: np.ndarray, ref: np.ndarray) -> None:
        finite = np.isfinite(ref)
        if not np.array_equal(finite, np.isfinite(ours)) or not np.array_equal(
            ours[~finite], ref[~finite], equal_nan=True
        ):
            self.mask_mismatches += 1
        if finite.any():
            self.max_abs_diff = max(self.max_abs_diff, float(np.max(np.abs(ours - ref)[finite])))


def talib_six(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    return [
        talib.SMA(c, 20),
        talib.EMA(c, 20),
        talib.RSI(c, 14),
        talib.ATR(h, lo, c, 14),
        *talib.MACD(c, 12, 26, 9),
        *talib.BBANDS(c, 20, 2.0, 2.0, 0),
    ]


def ours_six(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    return [
        sk.sma(c, 20),
        sk.ema(c, 20),
        sk.rsi(c, 14),
        sk.atr(h, lo, c, 14),
        *sk.macd(c, 12, 26, 9),
        *sk.bbands(c, 20, 2.0),
    ]


def bench_single(n: int, repeats: int, agreement: Agreement) -> dict[str, Any]:
    h, lo, c = minute_bars(n, np.random.default_rng(SEED))
    names = ["SMA20", "EMA20", "RSI14", "ATR14", "MACD", "BB20"]
    reused = sk.indicators_all(h, lo, c)
    pairs: list[tuple[Callable[[], Any], ...]] = [
        (lambda: talib.SMA(c, 20), lambda: sk.sma(c, 20)),
        (lambda: talib.EMA(c, 20), lambda: sk.ema(c, 20)),
        (lambda: talib.RSI(c, 14), lambda: sk.rsi(c, 14)),
        (lambda: talib.ATR(h, lo, c, 14), lambda: sk.atr(h, lo, c, 14)),
        (lambda: talib.MACD(c, 12, 26, 9), lambda: sk.macd(c, 12, 26, 9)),
        (lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0), lambda: sk.bbands(c, 20, 2.0)),
        (lambda: sk.indicators_all(h, lo, c),),
        (lambda: sk.indicators_all(h, lo, c, out=reused),),
    ]
    times = best_times(pairs, repeats)
    per = {}
    for name, (t_talib, t_ours) in zip(names, times[:6], strict=True):
        per[name] = {"talib_ms": t_talib * 1e3, "ours_ms": t_ours * 1e3}
        print(
            f"  {name:6s} talib {t_talib * 1e3:7.3f} ms ({t_talib / n * 1e9:5.2f} ns/bar)   "
            f"ours {t_ours * 1e3:7.3f} ms ({t_ours / n * 1e9:5.2f} ns/bar)   "
            f"ratio {t_ours / t_talib:.3f}"
        )
    talib_total = sum(t[0] for t in times[:6])
    ours_total = sum(t[1] for t in times[:6])
    fused, fused_into = times[6][0], times[7][0]
    print(
        f"  six calls: talib {talib_total * 1e3:.2f} ms, ours {ours_total * 1e3:.2f} ms; "
        f"ours fused indicators_all {fused * 1e3:.2f} ms, "
        f"into reused outputs {fused_into * 1e3:.2f} ms"
    )
    for ours, ref in zip(ours_six(h, lo, c), talib_six(h, lo, c), strict=True):
        agreement.add(ours, ref)
    for ours, ref in zip(sk.indicators_all(h, lo, c), talib_six(h, lo, c), strict=True):
        agreement.add(ours, ref)
    return {
        "talib_ms": talib_total * 1e3,
        "ours_ms": ours_total * 1e3,
        "fused_ms": fused * 1e3,
        "fused_into_ms": fused_into * 1e3,
        "per_indicator": per,
    }


def bench_batch(n_bars: int, n_series: int, repeats: int, agreement: Agreement) -> dict[str, Any]:
    h, lo, c = daily_panel(n_bars, n_series, np.random.default_rng(SEED + 1))
    # TA-Lib gets its natural layout, one contiguous row per series.
    h_rows, lo_rows, c_rows = (np.ascontiguousarray(a.T) for a in (h, lo, c))
    out = sk.allocate_batch_outputs(n_bars, n_series)

    def talib_loop() -> None:
        for s in range(n_series):
            talib_six(h_rows[s], lo_rows[s], c_rows[s])

    def ours_batch() -> None:
        sk.batch_indicators(h, lo, c, out)

    ((t_talib, t_ours),) = best_times([(talib_loop, ours_batch)], repeats)
    print(
        f"  {n_series} series x {n_bars} bars: talib loop {t_talib * 1e3:.2f} ms, "
        f"ours batch {t_ours * 1e3:.2f} ms, ratio {t_ours / t_talib:.3f}"
    )
    ours_batch()
    outputs = [
        out.sma,
        out.ema,
        out.rsi,
        out.atr,
        out.macd,
        out.macd_signal,
        out.macd_hist,
        out.bb_upper,
        out.bb_middle,
        out.bb_lower,
    ]
    for s in range(n_series):
        refs = talib_six(h_rows[s], lo_rows[s], c_rows[s])
        for arr, ref in zip(outputs, refs, strict=True):
            agreement.add(arr[:, s], ref)
    return {"talib_ms": t_talib * 1e3, "ours_ms": t_ours * 1e3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds")
    args = parser.parse_args(argv)
    n_single = 200_000 if args.quick else 1_000_000
    n_series = 1000 if args.quick else 3000
    n_bars = 300
    gc.collect()
    gc.disable()
    agreement = Agreement()
    print(f"single series, {n_single} bars (min of repeats, GC off):")
    single = bench_single(n_single, 7 if args.quick else 15, agreement)
    print(f"batch, bars-major ({n_bars}, {n_series}):")
    batch = bench_batch(n_bars, n_series, 5 if args.quick else 10, agreement)
    gc.enable()
    print(
        f"agreement: max |ours - talib| = {agreement.max_abs_diff:.3e}, "
        f"NaN/inf mask mismatches: {agreement.mask_mismatches}"
    )
    result = {
        "single_ratio_vs_talib": round(single["ours_ms"] / single["talib_ms"], 4),
        "batch_ratio_vs_talib": round(batch["ours_ms"] / batch["talib_ms"], 4),
        "max_abs_diff_vs_talib": agreement.max_abs_diff,
        "single_fused_ratio_vs_talib": round(single["fused_ms"] / single["talib_ms"], 4),
        "single_fused_into_ratio_vs_talib": round(single["fused_into_ms"] / single["talib_ms"], 4),
        "nan_mask_mismatches": agreement.mask_mismatches,
        "single_talib_ms": round(single["talib_ms"], 3),
        "single_ours_ms": round(single["ours_ms"], 3),
        "single_fused_ms": round(single["fused_ms"], 3),
        "single_fused_into_ms": round(single["fused_into_ms"], 3),
        "batch_talib_ms": round(batch["talib_ms"], 3),
        "batch_ours_ms": round(batch["ours_ms"], 3),
        "n_single": n_single,
        "batch_shape": [n_bars, n_series],
        "quick": args.quick,
        "native_build": os.environ.get("STONKS_NATIVE_BUILD") == "1",
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
