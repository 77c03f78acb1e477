"""The UNKNOWN sentinel, Bars validation and the input normalizer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from realtime.signal_engine import UNKNOWN, TickerInputs, Timeframe, Valuation, is_known
from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.normalizer import assemble, inputs_from_daily, resample_daily
from tests.realtime.signal_engine.conftest import AS_OF


def test_unknown_refuses_to_be_read_as_a_boolean() -> None:
    with pytest.raises(TypeError):
        bool(UNKNOWN)
    assert not is_known(UNKNOWN)
    assert is_known(0.0)


def test_bars_reject_mismatched_lengths_and_unordered_timestamps() -> None:
    with pytest.raises(ValueError, match="close"):
        Bars.from_arrays([1, 2], [1, 1], [1, 1], [1, 1], [1], [1, 1])
    with pytest.raises(ValueError, match="increasing"):
        Bars.from_arrays([2, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1])


def test_missing_sources_become_named_unknowns_not_zeros(daily_bars: dict[str, Bars]) -> None:
    inputs = [inputs_from_daily("AAPL", daily_bars["AAPL"])]
    batch = assemble(inputs, AS_OF, 300)
    assert set(batch.unknown_inputs[0]) >= {
        "bars:M30", "bars:H1", "bars:H4", "macro_bias", "valuation", "next_earnings"
    }
    assert np.isnan(batch.filters.macro_bias[0])
    assert np.isnan(batch.filters.days_to_earnings[0])
    assert batch.panels[Timeframe.H1].lengths[0] == 0
    assert batch.panels[Timeframe.D].lengths[0] > 200


def test_known_sources_are_carried_through(daily_bars: dict[str, Bars]) -> None:
    item = inputs_from_daily(
        "AAPL", daily_bars["AAPL"], valuation=Valuation(20.0, 18.0), macro_bias=0.2,
        next_earnings=date(2010, 8, 30),
    )
    batch = assemble([item], AS_OF, 300)
    assert batch.filters.macro_bias[0] == pytest.approx(0.2)
    assert batch.filters.pe_ratio[0] == 20.0
    assert batch.filters.days_to_earnings[0] == 10  # as_of is Aug 20 in New York
    assert "macro_bias" not in batch.unknown_inputs[0]


def test_weekly_bars_aggregate_ohlcv_and_are_final_only_after_friday(
    daily_bars: dict[str, Bars],
) -> None:
    daily = daily_bars["AAPL"]
    weekly = resample_daily(daily, Timeframe.W)
    first_week_days = np.searchsorted(daily.timestamps, weekly.timestamps[0], side="right")
    assert weekly.high[0] == daily.high[:first_week_days].max()
    assert weekly.low[0] == daily.low[:first_week_days].min()
    assert weekly.close[0] == daily.close[first_week_days - 1]
    assert weekly.volume[0] == pytest.approx(daily.volume[:first_week_days].sum())
    stamp = datetime.fromtimestamp(int(weekly.timestamps[1]), UTC)
    assert stamp.weekday() == 4  # Friday's close


def test_bars_after_as_of_are_not_read(daily_bars: dict[str, Bars]) -> None:
    item = TickerInputs("AAPL", {Timeframe.D: daily_bars["AAPL"]})
    early = AS_OF - timedelta(days=60)
    batch = assemble([item], early, 300)
    panel = batch.panels[Timeframe.D]
    expected = daily_bars["AAPL"].count_until(int(early.timestamp()))
    assert panel.lengths[0] == expected
    assert panel.close[-1, 0] == daily_bars["AAPL"].close[expected - 1]
