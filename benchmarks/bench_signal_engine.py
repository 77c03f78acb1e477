"""Benchmark: one signal engine tick over 500 tickers x 6 timeframes, both pipelines.

Daily bars are the bundled real S&P 500 bars (W and M resampled from them); M30/H1/H4
bars are synthesised deterministically (seeded random walks), as the sample data has no
intraday bars. The timed tick is ``SignalEngine.evaluate_market`` on an assembled batch:
features through the kernels, signals, confluence, filters, exits, both pipelines
(concurrently), delta analysis and the SignalOutput objects. Assembling the panels and
persisting to the database are timed separately. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from realtime.signal_engine import SignalEngine, Timeframe, inputs_from_daily, persist_outputs
from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.features import kernel_status
from realtime.signal_engine.normalizer import assemble, daily_bars_from_dates
from stonks.db import create_engine_for
from stonks.db.migrate import upgrade
from stonks.universe import load_daily_bars

N_TICKERS = 500
AS_OF = datetime(2010, 8, 21, tzinfo=UTC)
TARGET_MS = 50.0


def synthetic(seed: int, n: int, step_s: int) -> Bars:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    wick = np.abs(rng.normal(0.0, 0.002, n)) * close
    open_ = np.r_[close[0], close[:-1]]
    end = int(AS_OF.timestamp()) - 3600
    stamps = end - step_s * np.arange(n)[::-1]
    return Bars.from_arrays(stamps, open_, np.maximum(open_, close) + wick,
                            np.minimum(open_, close) - wick, close, rng.uniform(1e4, 1e5, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 25

    daily = load_daily_bars()
    tickers = sorted(daily)[:N_TICKERS]
    inputs = []
    for i, ticker in enumerate(tickers):
        b = daily[ticker]
        intraday = {Timeframe.M30: synthetic(i * 3, 300, 1800),
                    Timeframe.H1: synthetic(i * 3 + 1, 300, 3600),
                    Timeframe.H4: synthetic(i * 3 + 2, 300, 4 * 3600)}
        inputs.append(inputs_from_daily(
            ticker, daily_bars_from_dates(b.dates, b.open, b.high, b.low, b.close, b.volume),
            intraday=intraday))
    print(f"universe: {len(inputs)} tickers x 6 timeframes; kernels: {kernel_status()}")

    with SignalEngine() as engine:
        batch = assemble(inputs, AS_OF, engine.config.bars_window)
        for _ in range(3):  # warm-up: kernel buffers, thread pool, caches
            outputs = engine.evaluate_market(batch, "warm")
        gc.collect()
        gc.disable()
        try:
            ticks, assembles = [], []
            for r in range(repeats):
                start = time.perf_counter()
                batch = assemble(inputs, AS_OF, engine.config.bars_window)
                middle = time.perf_counter()
                outputs = engine.evaluate_market(batch, f"tick-{r}")
                end = time.perf_counter()
                assembles.append(middle - start)
                ticks.append(end - middle)
        finally:
            gc.enable()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = create_engine_for(url)
        start = time.perf_counter()
        persist_outputs(db, outputs, companies={})
        persist_ms = (time.perf_counter() - start) * 1e3
        db.dispose()

    tick_ms = min(ticks) * 1e3
    median_ms = statistics.median(ticks) * 1e3
    n = len(outputs)
    print(f"tick (evaluate_market): min {tick_ms:.2f} ms, median {median_ms:.2f} ms "
          f"over {repeats} repeats (target <= {TARGET_MS} ms)")
    print(f"panel assembly (not in the tick): min {min(assembles) * 1e3:.2f} ms")
    print(f"persistence of {n} outputs to SQLite (not in the tick): {persist_ms:.1f} ms")
    result = {
        "ms_per_tick_500_tickers": round(tick_ms * N_TICKERS / n, 3),
        "ms_per_tick_median": round(median_ms * N_TICKERS / n, 3),
        "us_per_ticker": round(tick_ms * 1e3 / n, 2),
        "tickers": n,
        "timeframes": 6,
        "assembly_ms": round(min(assembles) * 1e3, 3),
        "persist_sqlite_ms": round(persist_ms, 1),
        "target_ms": TARGET_MS,
        "meets_target": tick_ms * N_TICKERS / n <= TARGET_MS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
