"""Property tests: constant and monotone series, exact lookback lengths, NaN runs, magnitudes."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import signal_kernels as sk
from tests.signal_kernels.test_talib_agreement import assert_matches_talib

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

levels = st.sampled_from([1e-3, 0.37, 1.0, 42.5, 1e3, 1e6])
periods = st.integers(min_value=2, max_value=40)


@PROPERTY_SETTINGS
@given(level=levels, period=periods, extra=st.integers(min_value=1, max_value=80))
def test_constant_series_give_flat_indicators(level: float, period: int, extra: int) -> None:
    n = 26 + 9 + period + extra
    x = np.full(n, level)
    tol = 1e-12 * level
    np.testing.assert_allclose(sk.sma(x, period)[period - 1 :], level, rtol=0, atol=tol)
    np.testing.assert_allclose(sk.ema(x, period)[period - 1 :], level, rtol=0, atol=tol)
    np.testing.assert_array_equal(sk.rsi(x, period)[period:], 0.0)
    np.testing.assert_array_equal(sk.atr(x, x, x, period)[period:], 0.0)
    for line in sk.macd(x):
        np.testing.assert_allclose(line[33:], 0.0, rtol=0, atol=tol)
    for band in sk.bbands(x, period, 2.0):
        np.testing.assert_allclose(band[period - 1 :], level, rtol=0, atol=tol)
    np.testing.assert_allclose(sk.rolling_std(x, period)[period - 1 :], 0.0, atol=tol)
    np.testing.assert_array_equal(sk.rolling_max(x, period)[period - 1 :], level)
    assert_matches_talib(sk.rsi(x, period), talib.RSI(x, period))


@PROPERTY_SETTINGS
@given(
    start=st.floats(min_value=1.0, max_value=1e4),
    step=st.floats(min_value=1e-3, max_value=5.0),
    period=periods,
    n=st.integers(min_value=220, max_value=400),
)
def test_monotone_series_saturate_rsi_and_order_the_ma_stack(
    start: float, step: float, period: int, n: int
) -> None:
    up = start + step * np.arange(n)
    down = up[::-1].copy()
    np.testing.assert_allclose(sk.rsi(up, period)[period:], 100.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(sk.rsi(down, period)[period:], 0.0, rtol=0, atol=1e-9)
    assert (np.diff(sk.sma(up, period)[period - 1 :]) > 0).all()
    np.testing.assert_array_equal(sk.rolling_max(up, period)[period - 1 :], up[period - 1 :])
    np.testing.assert_array_equal(sk.rolling_min(up, period)[period - 1 :], up[: n - period + 1])
    np.testing.assert_array_equal(sk.ma_stack_alignment(up)[199:], 1.0)
    np.testing.assert_array_equal(sk.ma_stack_alignment(down)[199:], -1.0)
    assert np.isnan(sk.ma_stack_alignment(up)[:199]).all()


@PROPERTY_SETTINGS
@given(period=periods, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_length_exactly_the_lookback_gives_no_value_and_one_more_bar_gives_one(
    period: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    # RSI and ATR look back `period` bars: that many bars produce no value at all.
    x = 50 + np.cumsum(rng.normal(0, 1, period + 1))
    assert np.isnan(sk.rsi(x[:period], period)).all()
    assert np.isnan(sk.atr(x[:period], x[:period], x[:period], period)).all()
    for values, ref in (
        (sk.rsi(x, period), talib.RSI(x, period)),
        (sk.atr(x, x, x, period), talib.ATR(x, x, x, period)),
    ):
        assert np.isfinite(values).sum() == 1 and np.isfinite(values[-1])
        assert_matches_talib(values, ref)
    # SMA, EMA and Bollinger look back period-1 bars: one bar more is one value...
    for values in (
        sk.sma(x[:period], period),
        sk.ema(x[:period], period),
        *sk.bbands(x[:period], period),
    ):
        assert np.isfinite(values).sum() == 1 and np.isfinite(values[-1])
    # ...and period-1 bars is shorter than the window, which is an error, not all-NaN.
    with pytest.raises(ValueError, match="longer than the data"):
        sk.sma(x[: period - 1], period)
    # MACD(12, 26, 9) looks back 33 bars.
    y = 50 + np.cumsum(rng.normal(0, 1, 34))
    assert all(np.isnan(line).all() for line in sk.macd(y[:33]))
    for line, ref in zip(sk.macd(y), talib.MACD(y, 12, 26, 9), strict=True):
        assert np.isfinite(line).sum() == 1
        assert_matches_talib(line, ref)


nan_runs = st.lists(
    st.tuples(st.integers(min_value=0, max_value=299), st.integers(min_value=1, max_value=30)),
    max_size=4,
)


@PROPERTY_SETTINGS
@given(runs=nan_runs, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_runs_of_nan_propagate_exactly_as_in_talib(runs: list[tuple[int, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    h, lo = c * 1.01, c * 0.99
    for start, length in runs:
        c[start : start + length] = np.nan
    assert_matches_talib(sk.sma(c, 10), talib.SMA(c, 10))
    assert_matches_talib(sk.ema(c, 10), talib.EMA(c, 10))
    assert_matches_talib(sk.rsi(c, 14), talib.RSI(c, 14))
    assert_matches_talib(sk.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14))
    for mine, ref in zip(sk.macd(c), talib.MACD(c, 12, 26, 9), strict=True):
        assert_matches_talib(mine, ref)
    for mine, ref in zip(sk.bbands(c, 10), talib.BBANDS(c, 10, 2.0, 2.0, 0), strict=True):
        assert_matches_talib(mine, ref)
    # The rolling building blocks use window semantics instead: NaN only while in the window.
    std = sk.rolling_std(c, 10)
    has_nan = np.array([np.isnan(c[max(0, i - 9) : i + 1]).any() or i < 9 for i in range(300)])
    np.testing.assert_array_equal(np.isnan(std), has_nan)


def exact_window_std(window: np.ndarray) -> float:
    """Population deviation from exact rational arithmetic, rounded once at the end."""
    values = [Fraction(float(v)) for v in window]
    mean = sum(values, Fraction(0)) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


@PROPERTY_SETTINGS
@given(
    level=st.sampled_from([1e-3, 1.0, 250.0, 1e6, 1e9]),
    relative_noise=st.sampled_from([1e-11, 1e-8, 1e-5, 1e-2]),
    period=st.integers(min_value=2, max_value=30),
    n=st.integers(min_value=40, max_value=160),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_rolling_std_is_accurate_at_extreme_price_levels(
    level: float, relative_noise: float, period: int, n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = level * (1.0 + relative_noise * np.cumsum(rng.normal(0, 1, n)))
    got = sk.rolling_std(x, period)
    upper, middle, _ = sk.bbands(x, period, 1.0)
    for i in range(period - 1, n, max(1, n // 25)):
        window = x[i - period + 1 : i + 1]
        want = exact_window_std(window)
        assume(want > 0)
        assert abs(got[i] - want) <= 1e-9 * want
        assert abs((upper[i] - middle[i]) - want) <= 1e-9 * want + 4e-16 * abs(middle[i])
        mean = float(sum(Fraction(float(v)) for v in window) / period)
        assert abs(middle[i] - mean) <= 1e-13 * abs(mean)
    if n >= period + 1:
        sample = sk.rolling_std(x, period, ddof=1)
        window = x[n - period :]
        want = statistics.stdev([Fraction(float(v)) for v in window])
        assert abs(sample[-1] - float(want)) <= 1e-9 * float(want) + 1e-300


def test_rolling_std_stays_accurate_after_a_volatility_collapse() -> None:
    rng = np.random.default_rng(11)
    wild = 1e6 + np.cumsum(rng.normal(0, 1e3, 500))
    calm = wild[-1] + np.cumsum(rng.normal(0, 1e-3, 3000))
    x = np.r_[wild, calm]
    got = sk.rolling_std(x, 20)
    for i in range(560, x.shape[0], 97):
        want = exact_window_std(x[i - 19 : i + 1])
        assert abs(got[i] - want) <= 1e-9 * want


def test_rolling_std_over_a_long_series_does_not_drift() -> None:
    rng = np.random.default_rng(12)
    x = 1e6 + np.cumsum(rng.normal(0, 0.01, 200_000))
    got = sk.rolling_std(x, 50)
    for i in (49, 10_000, 99_999, 199_999):
        want = exact_window_std(x[i - 49 : i + 1])
        assert abs(got[i] - want) <= 1e-9 * want
