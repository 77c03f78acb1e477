"""Benchmark: one signal engine tick over 500 tickers x 6 timeframes, both pipelines.

Daily bars are the bundled real S&P 500 bars (W and M resampled from them); M30/H1/H4
bars are synthesised deterministically (seeded random walks), as the sample data has no
intraday bars.

What a timed tick is: every tick appends ONE NEW BAR to EVERY timeframe of EVERY ticker
(the worst case: a real 30-minute tick adds an M30 bar, and H1/H4/D/W/M bars only at their
own closes), so the engine's per-ticker caches of unchanged windows never hit; only the
Elliott/Fibonacci results, keyed by the confirmed pivot prices they read, can be reused.
The timed region is ``SignalEngine.evaluate_market`` on that tick's assembled batch:
features through the kernels (batch indicators, zigzag, Fibonacci, Elliott, cup & handle,
moving averages), signals, confluence, filters, exits, both pipelines, delta analysis and
the SignalOutput objects. Assembling the panels and persisting to the database are timed
separately, as is a re-evaluation of an unchanged tick (every cache hits).

Also timed: a realistic 30-minute session (``ms_session_tick_*``): 13 ticks from 10:00 to
16:00 New York, each with a new M30 bar for every ticker, H1 and H4 bars at their closes
and the daily bar at 16:00 (the heaviest tick); each tick's figure is the fastest of a few
replays of the session, each on a fresh engine started one tick earlier. The headline
``ms_per_tick_500_tickers`` stays the every-timeframe worst case. The last line is one JSON
object.
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

from realtime.signal_engine import (
    SignalEngine,
    TickerInputs,
    Timeframe,
    inputs_from_daily,
    persist_outputs,
)
from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.features import kernel_status
from realtime.signal_engine.normalizer import assemble, daily_bars_from_dates
from stonks.db import create_engine_for
from stonks.db.migrate import upgrade
from stonks.universe import load_daily_bars

N_TICKERS = 500
AS_OF = datetime(2010, 8, 21, tzinfo=UTC)
TARGET_MS = 50.0
WARM_UP = 3
SESSION_TICKS = 13  # 30-minute ticks from 10:00 to 16:00


def synthetic(seed: int, n: int, step_s: int) -> Bars:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    wick = np.abs(rng.normal(0.0, 0.002, n)) * close
    open_ = np.r_[close[0], close[:-1]]
    end = int(AS_OF.timestamp()) - 3600
    stamps = end - step_s * np.arange(n)[::-1]
    return Bars.from_arrays(stamps, open_, np.maximum(open_, close) + wick,
                            np.minimum(open_, close) - wick, close, rng.uniform(1e4, 1e5, n))


def truncated(bars: Bars, drop: int) -> Bars:
    """``bars`` without its last ``drop`` bars (at least one bar is kept)."""
    end = max(1, len(bars) - drop)
    return Bars(bars.timestamps[:end], bars.open[:end], bars.high[:end], bars.low[:end],
                bars.close[:end], bars.volume[:end])


def snapshot(full: list[TickerInputs], drop: int | dict[Timeframe, int]) -> list[TickerInputs]:
    """The universe as it was ``drop`` bars ago (on every timeframe, or per timeframe)."""
    drops = drop if isinstance(drop, dict) else dict.fromkeys(Timeframe, drop)
    return [
        TickerInputs(item.ticker, {tf: truncated(b, drops.get(tf, 0))
                                   for tf, b in item.bars.items() if isinstance(b, Bars)},
                     item.valuation, item.macro_bias, item.next_earnings, item.sector)
        for item in full
    ]


def session_drops(k: int) -> dict[Timeframe, int]:
    """Bars not yet closed at the k-th 30-minute tick of a session (k = 0 at 10:00, 12 at
    the 16:00 close): M30 closes every tick, H1 at 10:30, 11:30, ... 15:30 and 16:00, H4 at
    13:30 and 16:00, D at 16:00; W and M do not close this session."""
    h1_closes = (1, 3, 5, 7, 9, 11, 12)
    h4_closes = (7, 12)
    return {
        Timeframe.M30: SESSION_TICKS - 1 - k,
        Timeframe.H1: sum(c > k for c in h1_closes),
        Timeframe.H4: sum(c > k for c in h4_closes),
        Timeframe.D: 0 if k == SESSION_TICKS - 1 else 1,
    }


def time_session(inputs: list[TickerInputs], repeats: int, parallel: bool) -> list[float]:
    """Per tick of a 30-minute session, the fastest of ``repeats`` runs (ms)."""
    batches = [assemble(snapshot(inputs, session_drops(k)), AS_OF, 300)
               for k in range(-1, SESSION_TICKS)]
    best = [float("inf")] * SESSION_TICKS
    for _ in range(repeats):
        with SignalEngine(parallel=parallel) as engine:
            engine.evaluate_market(batches[0], "open")  # the tick before: a cold start
            gc.collect()
            gc.disable()
            try:
                for k in range(SESSION_TICKS):
                    start = time.perf_counter()
                    engine.evaluate_market(batches[k + 1], f"session-{k}")
                    best[k] = min(best[k], (time.perf_counter() - start) * 1e3)
            finally:
                gc.enable()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--serial", action="store_true",
                        help="no thread pool (SignalEngine(parallel=False))")
    args = parser.parse_args()
    repeats = 5 if args.quick else 25

    daily = load_daily_bars()
    tickers = sorted(daily)[:N_TICKERS]
    inputs = []
    for i, ticker in enumerate(tickers):
        b = daily[ticker]
        extra = max(repeats + WARM_UP, SESSION_TICKS + 1)  # bars beyond the 300-bar window
        intraday = {Timeframe.M30: synthetic(i * 3, 300 + extra, 1800),
                    Timeframe.H1: synthetic(i * 3 + 1, 300 + extra, 3600),
                    Timeframe.H4: synthetic(i * 3 + 2, 300 + extra, 4 * 3600)}
        inputs.append(inputs_from_daily(
            ticker, daily_bars_from_dates(b.dates, b.open, b.high, b.low, b.close, b.volume),
            intraday=intraday))
    print(f"universe: {len(inputs)} tickers x 6 timeframes; kernels: {kernel_status()}")

    n_ticks = WARM_UP + repeats
    with SignalEngine(parallel=not args.serial) as engine:
        window = engine.config.bars_window
        batches, assembles = [], []
        for k in range(n_ticks):  # tick k sees one more bar on every timeframe than k - 1
            universe = snapshot(inputs, n_ticks - 1 - k)
            start = time.perf_counter()
            batches.append(assemble(universe, AS_OF, window))
            assembles.append(time.perf_counter() - start)
        for k in range(WARM_UP):  # kernel buffers, thread pool, caches of the first window
            outputs = engine.evaluate_market(batches[k], "warm")
        gc.collect()
        gc.disable()
        try:
            ticks, unchanged = [], []
            for r in range(repeats):
                batch = batches[WARM_UP + r]
                start = time.perf_counter()
                outputs = engine.evaluate_market(batch, f"tick-{r}")
                middle = time.perf_counter()
                engine.evaluate_market(batch, f"again-{r}")  # same bars: every cache hits
                end = time.perf_counter()
                ticks.append(middle - start)
                unchanged.append(end - middle)
        finally:
            gc.enable()

    session = time_session(inputs, 3 if args.quick else 7, not args.serial)

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
    print(f"tick with a new bar on every timeframe of every ticker (evaluate_market): "
          f"min {tick_ms:.2f} ms, median {median_ms:.2f} ms over {repeats} ticks "
          f"(target <= {TARGET_MS} ms)")
    print(f"re-evaluation of an unchanged tick: min {min(unchanged) * 1e3:.2f} ms")
    print("30-minute session ticks (new M30 bar every tick; H1, H4, D at their closes), "
          "fastest of repeats, ms: " + ", ".join(f"{ms:.1f}" for ms in session))
    print(f"panel assembly (not in the tick): min {min(assembles) * 1e3:.2f} ms")
    print(f"persistence of {n} outputs to SQLite (not in the tick): {persist_ms:.1f} ms")
    result = {
        "ms_per_tick_500_tickers": round(tick_ms * N_TICKERS / n, 3),
        "ms_per_tick_median": round(median_ms * N_TICKERS / n, 3),
        "us_per_ticker": round(tick_ms * 1e3 / n, 2),
        "tickers": n,
        "timeframes": 6,
        "tick_model": "one new bar per ticker on every timeframe",
        "thread_pool": not args.serial,
        "ms_unchanged_tick": round(min(unchanged) * 1e3, 3),
        "ms_session_tick_mean": round(sum(session) / len(session), 3),
        "ms_session_tick_max": round(max(session), 3),
        "assembly_ms": round(min(assembles) * 1e3, 3),
        "persist_sqlite_ms": round(persist_ms, 1),
        "target_ms": TARGET_MS,
        "meets_target": tick_ms * N_TICKERS / n <= TARGET_MS,
        "session_meets_target": max(session) <= TARGET_MS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
