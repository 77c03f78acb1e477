"""The span of time in which the held positions' returns stay the same (what lets the
engine keep the correlation gate's input across batches)."""

from __future__ import annotations

from datetime import UTC, datetime

from realtime.market_data import BarStore

TICKERS = ("AAPL", "MSFT", "XOM")


def test_no_bar_becomes_final_inside_the_span_and_one_does_at_its_end() -> None:
    bars = BarStore()
    at = int(datetime(2010, 8, 20, 15, 0, tzinfo=UTC).timestamp())
    start, end = bars.unchanged_span(TICKERS, at)
    assert start <= at < end
    counts = [bars.count_until(t, at) for t in TICKERS]
    for moment in (int(start), int(end) - 1):
        assert [bars.count_until(t, moment) for t in TICKERS] == counts
        for ticker in TICKERS:
            now, then = bars.returns(ticker, moment), bars.returns(ticker, at)
            assert now is not None and then is not None and (now == then).all()
    assert [bars.count_until(t, int(end)) for t in TICKERS] != counts


def test_a_ticker_without_bars_does_not_bound_the_span() -> None:
    bars = BarStore()
    at = int(datetime(2010, 8, 20, 15, 0, tzinfo=UTC).timestamp())
    assert bars.unchanged_span(("AAPL", "NOSUCH"), at) == bars.unchanged_span(("AAPL",), at)
    assert bars.unchanged_span((), at) == (float("-inf"), float("inf"))
