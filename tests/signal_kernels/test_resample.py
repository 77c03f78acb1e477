"""Resampling into M30/H1/H4/D/W/M: session boundaries, DST weeks, OHLCV vs a plain reference."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

import signal_kernels as sk

NY = ZoneInfo("America/New_York")
NS = 1_000_000_000
TIMEFRAMES = ("M30", "H1", "H4", "D", "W", "M")
WIDTH_MINUTES = {"M30": 30, "H1": 60, "H4": 240}


def minute_bars(
    first: date, last: date, start: time = time(4, 0), end: time = time(20, 0)
) -> np.ndarray:
    """UTC epoch-ns starts of 1-minute bars on weekdays, extended hours included."""
    stamps = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            t = datetime.combine(day, start, tzinfo=NY)
            stop = datetime.combine(day, end, tzinfo=NY)
            while t < stop:
                stamps.append(int(t.timestamp()) * NS)
                t += timedelta(minutes=1)
        day += timedelta(days=1)
    return np.asarray(stamps, dtype=np.int64)


def ohlcv(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.1, n))
    open_ = close + rng.normal(0, 0.05, n)
    high = np.maximum(open_, close) + rng.random(n) * 0.1
    low = np.minimum(open_, close) - rng.random(n) * 0.1
    volume = rng.integers(1, 1000, n).astype(np.float64)
    return open_, high, low, close, volume


def bucket_of(stamp_ns: int, timeframe: str) -> tuple[object, int] | None:
    """(key, label in UTC ns) of the bucket a bar starting at stamp_ns falls in, or None."""
    local = datetime.fromtimestamp(stamp_ns / NS, tz=NY)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    if not 9 * 3600 + 1800 <= seconds < 16 * 3600:
        return None
    day = local.date()
    if timeframe in WIDTH_MINUTES:
        k = (seconds - (9 * 3600 + 1800)) // (WIDTH_MINUTES[timeframe] * 60)
        start = datetime.combine(day, time(9, 30), tzinfo=NY)
        start += timedelta(minutes=int(k) * WIDTH_MINUTES[timeframe])
        return (day, k), int(start.timestamp()) * NS
    if timeframe == "D":
        first_day = day
    elif timeframe == "W":
        first_day = day - timedelta(days=day.weekday())
    else:
        first_day = day.replace(day=1)
    midnight = datetime.combine(first_day, time(0, 0), tzinfo=NY)
    return first_day, int(midnight.timestamp()) * NS


def reference(
    ts: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    timeframe: str,
) -> list[tuple[float, ...]]:
    rows: dict[object, list[float]] = {}
    for i in range(ts.shape[0]):
        found = bucket_of(int(ts[i]), timeframe)
        if found is None:
            continue
        key, label = found
        if key not in rows:
            rows[key] = [label, o[i], h[i], lo[i], c[i], v[i], 1]
        else:
            row = rows[key]
            row[2] = max(row[2], h[i])
            row[3] = min(row[3], lo[i])
            row[4] = c[i]
            row[5] += v[i]
            row[6] += 1
    return [tuple(row) for row in rows.values()]


def as_rows(bars: sk.ResampledBars) -> Iterator[tuple[float, ...]]:
    for i in range(bars.timestamp.shape[0]):
        yield (
            int(bars.timestamp[i]),
            bars.open[i],
            bars.high[i],
            bars.low[i],
            bars.close[i],
            bars.volume[i],
            int(bars.bar_count[i]),
        )


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2024, 3, 4), date(2024, 3, 15)),  # DST starts Sunday 2024-03-10
        (date(2024, 10, 28), date(2024, 11, 8)),  # DST ends Sunday 2024-11-03
        (date(2024, 12, 23), date(2025, 1, 10)),  # ISO week across the new year
    ],
    ids=["spring-forward", "fall-back", "year-end"],
)
def test_resampling_matches_a_plain_python_reference(
    timeframe: str, first: date, last: date
) -> None:
    ts = minute_bars(first, last)
    columns = ohlcv(ts.shape[0], seed=first.toordinal())
    got = list(as_rows(sk.resample_bars(ts, *columns, timeframe)))
    want = reference(ts, *columns, timeframe)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want, strict=True):
        assert mine[0] == theirs[0] and mine[6] == theirs[6]
        np.testing.assert_allclose(mine[1:6], theirs[1:6], rtol=1e-12)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_irregular_second_level_stamps_match_the_reference(timeframe: str) -> None:
    rng = np.random.default_rng(5)
    start = int(datetime(2023, 2, 20, tzinfo=NY).timestamp())
    seconds = np.sort(rng.integers(start, start + 120 * 86_400, 40_000))
    ts = seconds.astype(np.int64) * NS
    columns = ohlcv(ts.shape[0], seed=6)
    got = list(as_rows(sk.resample_bars(ts, *columns, timeframe)))
    want = reference(ts, *columns, timeframe)
    assert [g[0] for g in got] == [w[0] for w in want]
    assert [g[6] for g in got] == [w[6] for w in want]
    np.testing.assert_allclose(
        np.array([g[1:6] for g in got]), np.array([w[1:6] for w in want]), rtol=1e-12
    )


def test_session_boundaries_are_09_30_inclusive_to_16_00_exclusive() -> None:
    day = date(2024, 6, 3)
    stamps = [
        datetime.combine(day, t, tzinfo=NY)
        for t in (time(9, 29), time(9, 30), time(15, 59), time(16, 0))
    ]
    ts = np.array([int(s.timestamp()) * NS for s in stamps])
    bars = sk.resample_bars(
        ts,
        [1.0, 2.0, 3.0, 4.0],
        [1.0, 2.0, 3.0, 4.0],
        [1.0, 2.0, 3.0, 4.0],
        [1.0, 2.0, 3.0, 4.0],
        [10.0, 20.0, 30.0, 40.0],
        "D",
    )
    assert bars.bar_count.tolist() == [2]
    assert (bars.open[0], bars.close[0], bars.volume[0]) == (2.0, 3.0, 50.0)


def test_intraday_buckets_are_anchored_on_the_open_in_both_dst_regimes() -> None:
    for day in (date(2024, 1, 10), date(2024, 7, 10)):
        ts = minute_bars(day, day)
        cols = ohlcv(ts.shape[0], seed=1)
        starts = {
            tf: [
                datetime.fromtimestamp(t / NS, tz=NY).strftime("%H:%M")
                for t in sk.resample_bars(ts, *cols, tf).timestamp
            ]
            for tf in ("M30", "H1", "H4")
        }
        assert starts["H4"] == ["09:30", "13:30"]
        assert starts["H1"] == ["09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"]
        assert len(starts["M30"]) == 13 and starts["M30"][-1] == "15:30"
        counts = sk.resample_bars(ts, *cols, "H1").bar_count.tolist()
        assert counts == [60] * 6 + [30]


def test_daily_weekly_and_monthly_labels_are_new_york_midnights() -> None:
    ts = minute_bars(date(2024, 3, 1), date(2024, 4, 5))
    cols = ohlcv(ts.shape[0], seed=2)
    weekly = sk.resample_bars(ts, *cols, "W")
    labels = [datetime.fromtimestamp(t / NS, tz=NY) for t in weekly.timestamp]
    assert all(lab.weekday() == 0 and lab.time() == time(0, 0) for lab in labels)
    assert weekly.bar_count.tolist()[:2] == [390, 5 * 390]  # Friday 2024-03-01, then a full week
    monthly = sk.resample_bars(ts, *cols, "M")
    assert [datetime.fromtimestamp(t / NS, tz=NY).date() for t in monthly.timestamp] == [
        date(2024, 3, 1),
        date(2024, 4, 1),
    ]
    assert monthly.bar_count.tolist() == [21 * 390, 5 * 390]


def test_ohlcv_aggregation_of_a_known_bucket() -> None:
    ts = minute_bars(date(2024, 5, 6), date(2024, 5, 6), start=time(9, 30), end=time(10, 0))
    o = np.arange(30.0)
    h = o + 5
    h[7] = 99.0
    lo = o - 5
    lo[22] = -50.0
    bars = sk.resample_bars(ts, o, h, lo, o + 0.5, np.ones(30), "M30")
    assert bars.bar_count.tolist() == [30]
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]) == (
        0.0,
        99.0,
        -50.0,
        29.5,
        30.0,
    )


def test_datetime64_timestamps_are_accepted() -> None:
    ts = minute_bars(date(2024, 2, 5), date(2024, 2, 6))
    cols = ohlcv(ts.shape[0], seed=3)
    as_ns = sk.resample_bars(ts, *cols, "H1")
    as_dt64 = sk.resample_bars(ts.astype("datetime64[ns]").astype("datetime64[s]"), *cols, "H1")
    for a, b in zip(as_ns, as_dt64, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_nan_price_makes_its_bucket_field_nan() -> None:
    ts = minute_bars(date(2024, 5, 6), date(2024, 5, 6), start=time(9, 30), end=time(11, 30))
    o, h, lo, c, v = ohlcv(ts.shape[0], seed=4)
    h[5] = np.nan
    bars = sk.resample_bars(ts, o, h, lo, c, v, "H1")
    assert np.isnan(bars.high[0]) and np.isfinite(bars.high[1])
    assert np.isfinite(bars.low[0])


def test_bad_resample_arguments_are_rejected() -> None:
    ts = minute_bars(date(2024, 5, 6), date(2024, 5, 6))
    cols = ohlcv(ts.shape[0], seed=5)
    with pytest.raises(ValueError, match="timeframe must be one of"):
        sk.resample_bars(ts, *cols, "H2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-decreasing"):
        sk.resample_bars(ts[::-1].copy(), *cols, "D")
    with pytest.raises(TypeError, match="epoch nanoseconds"):
        sk.resample_bars(ts.astype(np.float64), *cols, "D")
    with pytest.raises(ValueError, match="volume has 5 values"):
        sk.resample_bars(ts, *cols[:4], cols[4][:5], "D")


def test_empty_input_gives_no_bars() -> None:
    empty = np.array([], dtype=np.float64)
    bars = sk.resample_bars(np.array([], dtype=np.int64), empty, empty, empty, empty, empty, "D")
    assert bars.timestamp.shape == (0,)
