"""Our indicators agree with TA-Lib to 1e-9 with identical NaN masks, on real and random data."""

from __future__ import annotations

import numpy as np
import pytest
import talib

import signal_kernels as sk
from tests.signal_kernels.conftest import Bars, random_walk

TOLERANCE = 1e-9


def assert_matches_talib(ours: np.ndarray, ref: np.ndarray) -> None:
    """Same length, NaN where TA-Lib has NaN, equal infinities, finite values within 1e-9."""
    assert ours.shape == ref.shape
    assert ours.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    infinite = np.isinf(ref)
    np.testing.assert_array_equal(ours[infinite], ref[infinite])
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(ours), finite)
    if finite.any():
        assert np.max(np.abs(ours[finite] - ref[finite])) <= TOLERANCE


@pytest.mark.parametrize("period", [2, 5, 14, 20, 50, 200])
def test_sma_and_ema_match_talib(bars: Bars, period: int) -> None:
    assert_matches_talib(sk.sma(bars.close, period), talib.SMA(bars.close, period))
    assert_matches_talib(sk.ema(bars.close, period), talib.EMA(bars.close, period))


@pytest.mark.parametrize("period", [2, 7, 14, 30, 100])
def test_rsi_matches_talib(bars: Bars, period: int) -> None:
    assert_matches_talib(sk.rsi(bars.close, period), talib.RSI(bars.close, period))


@pytest.mark.parametrize("period", [1, 2, 14, 30, 100])
def test_atr_matches_talib(bars: Bars, period: int) -> None:
    ours = sk.atr(bars.high, bars.low, bars.close, period)
    assert_matches_talib(ours, talib.ATR(bars.high, bars.low, bars.close, period))


def test_true_range_matches_talib(bars: Bars) -> None:
    ours = sk.true_range(bars.high, bars.low, bars.close)
    assert_matches_talib(ours, talib.TRANGE(bars.high, bars.low, bars.close))


@pytest.mark.parametrize(
    ("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 1), (26, 12, 9), (8, 8, 3)]
)
def test_macd_matches_talib(bars: Bars, fast: int, slow: int, signal: int) -> None:
    ours = sk.macd(bars.close, fast, slow, signal)
    ref = talib.MACD(bars.close, fast, slow, signal)
    for mine, theirs in zip(ours, ref, strict=True):
        assert_matches_talib(mine, theirs)


def test_default_macd_starts_at_index_33(bars: Bars) -> None:
    for line in sk.macd(bars.close):
        assert np.isnan(line[:33]).all()
        assert np.isfinite(line[33:]).all()


@pytest.mark.parametrize(("period", "nbdev"), [(2, 1.0), (5, 2.0), (20, 2.0), (20, 2.5), (60, 1.5)])
def test_bbands_match_talib(bars: Bars, period: int, nbdev: float) -> None:
    ours = sk.bbands(bars.close, period, nbdev)
    ref = talib.BBANDS(bars.close, period, nbdev, nbdev, 0)
    for mine, theirs in zip(ours, ref, strict=True):
        assert_matches_talib(mine, theirs)


def test_indicators_all_equals_the_six_calls(bars: Bars) -> None:
    result = sk.indicators_all(bars.high, bars.low, bars.close)
    expected = [
        sk.sma(bars.close, 20),
        sk.ema(bars.close, 20),
        sk.rsi(bars.close, 14),
        sk.atr(bars.high, bars.low, bars.close, 14),
        *sk.macd(bars.close),
        *sk.bbands(bars.close),
    ]
    for got, want in zip(result, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_million_bar_series_matches_talib() -> None:
    walk = random_walk(7, 1_000_000, vol=0.0005)
    c = walk.close
    assert_matches_talib(sk.sma(c, 20), talib.SMA(c, 20))
    assert_matches_talib(sk.ema(c, 20), talib.EMA(c, 20))
    assert_matches_talib(sk.rsi(c, 14), talib.RSI(c, 14))
    assert_matches_talib(sk.atr(walk.high, walk.low, c, 14), talib.ATR(walk.high, walk.low, c, 14))
    for mine, theirs in zip(sk.macd(c), talib.MACD(c, 12, 26, 9), strict=True):
        assert_matches_talib(mine, theirs)
    for mine, theirs in zip(sk.bbands(c), talib.BBANDS(c, 20, 2.0, 2.0, 0), strict=True):
        assert_matches_talib(mine, theirs)


def inject(values: np.ndarray, rng: np.random.Generator, bad: float, count: int) -> np.ndarray:
    out = values.copy()
    out[rng.choice(values.shape[0], size=count, replace=False)] = bad
    return out


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("seed", range(12))
def test_nan_and_inf_propagate_as_in_talib(bad: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    walk = random_walk(100 + seed, 400)
    count = int(rng.integers(1, 4))
    c = inject(walk.close, rng, bad, count)
    h = inject(walk.high, rng, bad, count) if seed % 3 == 0 else walk.high
    lo = inject(walk.low, rng, bad, count) if seed % 3 == 1 else walk.low
    assert_matches_talib(sk.sma(c, 20), talib.SMA(c, 20))
    assert_matches_talib(sk.ema(c, 10), talib.EMA(c, 10))
    assert_matches_talib(sk.rsi(c, 14), talib.RSI(c, 14))
    assert_matches_talib(sk.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14))
    for mine, theirs in zip(sk.macd(c), talib.MACD(c, 12, 26, 9), strict=True):
        assert_matches_talib(mine, theirs)
    for mine, theirs in zip(sk.bbands(c, 20, 2.0), talib.BBANDS(c, 20, 2.0, 2.0, 0), strict=True):
        assert_matches_talib(mine, theirs)


@pytest.mark.parametrize("lead", [1, 5, 40])
def test_leading_nans_are_skipped_like_talib(lead: int) -> None:
    walk = random_walk(9, 300)
    c, h, lo = walk.close.copy(), walk.high.copy(), walk.low.copy()
    c[:lead] = np.nan
    h[: lead + 2] = np.nan
    assert_matches_talib(sk.sma(c, 20), talib.SMA(c, 20))
    assert_matches_talib(sk.ema(c, 20), talib.EMA(c, 20))
    assert_matches_talib(sk.rsi(c, 14), talib.RSI(c, 14))
    assert_matches_talib(sk.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14))
    for mine, theirs in zip(sk.macd(c), talib.MACD(c, 12, 26, 9), strict=True):
        assert_matches_talib(mine, theirs)
    for mine, theirs in zip(sk.bbands(c), talib.BBANDS(c, 20, 2.0, 2.0, 0), strict=True):
        assert_matches_talib(mine, theirs)


def test_indicators_all_can_write_into_a_previous_result() -> None:
    first, second = random_walk(41, 300), random_walk(42, 300)
    out = sk.indicators_all(first.high, first.low, first.close)
    addresses = [arr.__array_interface__["data"][0] for arr in out]
    again = sk.indicators_all(second.high, second.low, second.close, out=out)
    assert again is out
    assert [arr.__array_interface__["data"][0] for arr in again] == addresses
    fresh = sk.indicators_all(second.high, second.low, second.close)
    for got, want in zip(again, fresh, strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"out\.sma must be a writeable C-contiguous float64"):
        sk.indicators_all(first.high[:100], first.low[:100], first.close[:100], out=out)
