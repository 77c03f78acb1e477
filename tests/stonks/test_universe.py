from __future__ import annotations

from datetime import date

import numpy as np

from stonks.universe import DEFAULT_TRACKED, load_daily_bars, load_universe


def test_universe_lists_sp500_companies_with_sectors() -> None:
    universe = load_universe()
    assert len(universe) > 450
    by_ticker = {c.ticker: c for c in universe}
    assert by_ticker["MMM"].name == "3M Company"
    assert by_ticker["MMM"].sector == "Industrials"
    assert set(DEFAULT_TRACKED) <= set(by_ticker)
    assert [c.ticker for c in universe] == sorted(by_ticker)


def test_daily_bars_are_ordered_and_consistent() -> None:
    bars = load_daily_bars({"AAPL", "IBM"})
    assert set(bars) == {"AAPL", "IBM"}
    aapl = bars["AAPL"]
    assert aapl.dates[0] == date(2009, 8, 21)
    assert aapl.dates == sorted(aapl.dates)
    assert len(aapl.close) == len(aapl.dates) > 200
    assert np.all(aapl.high >= np.maximum(aapl.open, aapl.close))
    assert np.all(aapl.low <= np.minimum(aapl.open, aapl.close))
