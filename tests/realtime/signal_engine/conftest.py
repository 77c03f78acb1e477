"""Fixtures for the signal engine tests: real daily bars, a migrated PostgreSQL, an engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from realtime.signal_engine import SignalEngine, TickerInputs, inputs_from_daily
from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.normalizer import daily_bars_from_dates
from stonks.db.migrate import upgrade
from stonks.universe import load_daily_bars

TICKERS = ("AAPL", "MSFT", "JPM", "XOM", "GE", "IBM", "WMT", "JNJ")
AS_OF = datetime(2010, 8, 21, tzinfo=UTC)


@pytest.fixture(scope="session")
def daily_bars() -> dict[str, Bars]:
    loaded = load_daily_bars(set(TICKERS))
    return {
        t: daily_bars_from_dates(b.dates, b.open, b.high, b.low, b.close, b.volume)
        for t, b in loaded.items()
    }


@pytest.fixture(scope="session")
def sample_inputs(daily_bars: dict[str, Bars]) -> list[TickerInputs]:
    return [inputs_from_daily(t, daily_bars[t]) for t in TICKERS]


@pytest.fixture
def engine() -> Iterator[SignalEngine]:
    with SignalEngine() as instance:
        yield instance


@pytest.fixture
def migrated_pg_url(pg_url: str) -> str:
    upgrade(pg_url)
    return pg_url


def random_walk_bars(seed: int, n: int, start_epoch: int, step_s: int, drift: float = 0.0) -> Bars:
    """Deterministic OHLC bars from a seeded geometric random walk."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(drift, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.004, n)) * close
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    stamps = start_epoch + step_s * np.arange(1, n + 1)
    return Bars.from_arrays(stamps, open_, high, low, close, rng.uniform(1e5, 1e6, n))
