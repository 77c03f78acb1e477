"""Rolling max/min/std against straightforward references, including NaN windows."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import talib

import signal_kernels as sk
from tests.signal_kernels.conftest import Bars, random_walk


def reference(x: np.ndarray, period: int, reduce: str) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i in range(period - 1, x.shape[0]):
        window = x[i - period + 1 : i + 1]
        if np.isnan(window).any() or (reduce == "std" and not np.isfinite(window).all()):
            continue
        if reduce == "max":
            out[i] = window.max()
        elif reduce == "min":
            out[i] = window.min()
        else:
            out[i] = statistics.pstdev(window.tolist())
    return out


@pytest.mark.parametrize("period", [1, 2, 3, 10, 50])
def test_rolling_extremes_match_a_naive_scan(bars: Bars, period: int) -> None:
    x = bars.close
    np.testing.assert_array_equal(sk.rolling_max(x, period), reference(x, period, "max"))
    np.testing.assert_array_equal(sk.rolling_min(x, period), reference(x, period, "min"))


@pytest.mark.parametrize("period", [2, 10, 50])
def test_rolling_extremes_agree_with_talib_max_min(bars: Bars, period: int) -> None:
    x = bars.close
    np.testing.assert_array_equal(sk.rolling_max(x, period), talib.MAX(x, period))
    np.testing.assert_array_equal(sk.rolling_min(x, period), talib.MIN(x, period))


@pytest.mark.parametrize("period", [2, 5, 20, 64])
def test_rolling_std_matches_statistics_pstdev(bars: Bars, period: int) -> None:
    x = bars.close[:600]
    np.testing.assert_allclose(
        sk.rolling_std(x, period), reference(x, period, "std"), rtol=1e-10, atol=1e-12
    )


def test_rolling_std_agrees_with_talib_stddev_on_real_data(bars: Bars) -> None:
    ours, ref = sk.rolling_std(bars.close, 20), talib.STDDEV(bars.close, 20, 1.0)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    assert np.nanmax(np.abs(ours - ref)) <= 1e-9


def test_windows_holding_a_nan_are_nan_and_values_recover_after() -> None:
    x = random_walk(31, 200).close
    x[[50, 51, 120]] = np.nan
    x[160] = np.inf
    for name, period in (("max", 7), ("min", 7), ("std", 7)):
        got = getattr(sk, f"rolling_{name}")(x, period)
        np.testing.assert_allclose(got, reference(x, period, name), rtol=1e-10, atol=1e-12)
    std = sk.rolling_std(x, 7)
    assert np.isnan(std[160:167]).all() and np.isfinite(std[167])
    assert sk.rolling_max(x, 7)[163] == np.inf


def test_sample_deviation_uses_period_minus_one() -> None:
    x = random_walk(32, 50).close
    got = sk.rolling_std(x, 10, ddof=1)
    for i in range(9, 50):
        assert got[i] == pytest.approx(statistics.stdev(x[i - 9 : i + 1].tolist()), rel=1e-10)
