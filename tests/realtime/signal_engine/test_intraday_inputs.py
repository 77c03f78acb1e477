"""Intraday bars into the engine's six timeframes: OHLCV per bucket, finality, no look-ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from realtime.signal_engine import (
    SignalEngine,
    Timeframe,
    inputs_from_intraday,
    resample_intraday,
)
from realtime.signal_engine.contracts import Bars
from tests.realtime.signal_engine.test_engine import verdicts

NEW_YORK = ZoneInfo("America/New_York")
FIVE_MIN_NS = 300 * 1_000_000_000


def sessions(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def five_minute_bars(days: list[date], seed: int = 7) -> tuple[np.ndarray, ...]:
    """78 regular-session bars a day, 09:30-16:00 New York, as a seeded random walk."""
    starts = []
    for day in days:
        open_ns = int(datetime.combine(day, time(9, 30), NEW_YORK).timestamp()) * 1_000_000_000
        starts.extend(open_ns + i * FIVE_MIN_NS for i in range(78))
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, len(starts))))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.001, len(starts)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.001, len(starts)))
    volume = rng.integers(1_000, 5_000, len(starts)).astype(float)
    return np.array(starts, dtype=np.int64), open_, high, low, close, volume


def ny(day: date, hour: int, minute: int) -> int:
    return int(datetime.combine(day, time(hour, minute), NEW_YORK).timestamp())


def test_hourly_bars_aggregate_their_twelve_bars_and_are_final_at_bucket_end() -> None:
    day = date(2010, 3, 15)  # the Monday after the DST change
    columns = five_minute_bars([day])
    hourly = resample_intraday(*columns, Timeframe.H1)
    assert len(hourly) == 7
    assert hourly.timestamps[0] == ny(day, 10, 30)
    assert hourly.timestamps[-1] == ny(day, 16, 0), "the 15:30 bucket is final at the close"
    _, open_, high, low, close, volume = columns
    assert hourly.open[0] == open_[0] and hourly.close[0] == close[11]
    assert hourly.high[0] == high[:12].max() and hourly.low[0] == low[:12].min()
    assert hourly.volume[0] == volume[:12].sum()
    assert hourly.close[-1] == close[-1]


def test_four_hour_and_daily_bars_end_at_their_session_times() -> None:
    day = date(2010, 11, 8)  # standard time again
    columns = five_minute_bars([day])
    four_hour = resample_intraday(*columns, Timeframe.H4)
    assert list(four_hour.timestamps) == [ny(day, 13, 30), ny(day, 16, 0)]
    daily = resample_intraday(*columns, Timeframe.D)
    assert list(daily.timestamps) == [ny(day, 16, 0)]
    assert daily.high[0] == columns[2].max() and daily.volume[0] == columns[5].sum()


def test_only_intraday_timeframes_are_accepted() -> None:
    with pytest.raises(ValueError, match="not W"):
        resample_intraday(*five_minute_bars([date(2010, 3, 15)]), Timeframe.W)


def test_intraday_inputs_fill_all_six_timeframes() -> None:
    inputs = inputs_from_intraday("TEST", *five_minute_bars(sessions(date(2010, 1, 4), 60)))
    for timeframe in Timeframe:
        assert isinstance(inputs.bars_for(timeframe), Bars), timeframe
    assert len(inputs.bars_for(Timeframe.D)) == 60


def test_bars_arriving_after_t_never_change_the_verdict_at_t() -> None:
    days = sessions(date(2010, 1, 4), 120)
    columns = five_minute_bars(days)
    t = datetime.combine(days[-10], time(11, 5), NEW_YORK).astimezone(UTC)
    cut = int(np.searchsorted(columns[0], int(t.timestamp()) * 1_000_000_000))
    # Only bars that had *started* by t are known at t; the 11:00 bar is still open.
    known = [column[:cut] for column in columns]
    engine = SignalEngine()
    try:
        at_t = engine.evaluate(inputs_from_intraday("TEST", *known), t)
        later = engine.evaluate(inputs_from_intraday("TEST", *columns), t)
    finally:
        engine.close()
    assert verdicts(at_t) == verdicts(later)
    assert dict(at_t.evidence) == dict(later.evidence)
