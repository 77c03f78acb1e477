"""The signal library on series built so the answer is known."""

from __future__ import annotations

import numpy as np

from realtime.signal_engine.contracts import Timeframe
from realtime.signal_engine.features import KernelWorkspace, Panel, compute_features
from realtime.signal_engine.signals import (
    cup_handle_signal,
    elliott_signal,
    fibonacci_signal,
    ma_stack_signal,
    rsi_signal,
)


def panel_of(*closes: np.ndarray, rows: int | None = None) -> Panel:
    rows = rows or max(len(c) for c in closes)
    close = np.full((rows, len(closes)), np.nan)
    for i, series in enumerate(closes):
        close[rows - len(series):, i] = series
    return Panel(Timeframe.D, close * 1.005, close * 0.995, close,
                 np.array([len(c) for c in closes], dtype=np.int64))


def features_of(*closes: np.ndarray):  # type: ignore[no-untyped-def]
    return compute_features(panel_of(*closes), KernelWorkspace())


def test_ma_stack_is_fully_bullish_on_a_steady_rise_and_bearish_on_a_fall() -> None:
    up = np.linspace(50, 150, 260)
    reading = ma_stack_signal(features_of(up, up[::-1]))
    assert reading.value.tolist() == [1.0, -1.0]
    assert reading.known.all()


def test_ma_stack_is_unknown_with_too_little_history() -> None:
    reading = ma_stack_signal(features_of(np.linspace(50, 60, 12)))
    assert not reading.known[0]
    assert reading.value[0] == 0.0


def test_fibonacci_pullback_into_the_golden_zone_is_bullish() -> None:
    rise = np.linspace(100, 200, 80)
    pullback = np.linspace(200, 140, 25)  # 60 % of the swing: inside 38.2-61.8
    reading = fibonacci_signal(features_of(np.r_[np.full(40, 100.0), rise, pullback]))
    assert reading.known[0]
    assert reading.value[0] > 0.7
    assert 0.5 < reading.evidence["retracement"][0] < 0.7


def test_fibonacci_swing_broken_below_its_start_is_bearish() -> None:
    rise = np.linspace(100, 200, 80)
    collapse = np.linspace(200, 80, 40)
    reading = fibonacci_signal(features_of(np.r_[np.full(40, 100.0), rise, collapse]))
    assert reading.value[0] < 0


def test_rsi_reads_a_strong_uptrend_as_bullish_regime() -> None:
    rng = np.random.default_rng(1)
    series = 100 * np.exp(np.cumsum(rng.normal(0.004, 0.008, 200)))
    reading = rsi_signal(features_of(series))
    assert reading.known[0]
    assert reading.evidence["rsi"][0] > 50
    assert reading.value[0] > 0


def test_rsi_flags_bullish_divergence_on_a_lower_low_with_weaker_selling() -> None:
    crash = np.linspace(100, 70, 10)  # fast fall: RSI very low
    drift_up = np.linspace(70, 78, 15)
    slow_fall = np.linspace(78, 69, 12)  # lower low, gentler: RSI higher
    series = np.r_[np.full(30, 100.0), crash, drift_up, slow_fall]
    reading = rsi_signal(features_of(series))
    assert reading.evidence["bullish_divergence"][0] == 1.0


def test_cup_and_handle_is_detected_on_a_rounded_base_with_a_shallow_handle() -> None:
    x = np.linspace(-1, 1, 54)
    cup = 100 - 20 * (1 - x**2)  # rims at 100, bottom at 80
    handle = np.r_[np.linspace(100, 97, 3), np.linspace(97, 99, 3)]
    reading = cup_handle_signal(features_of(np.r_[np.full(40, 100.0), cup, handle]))
    flat = cup_handle_signal(features_of(np.full(100, 100.0) + np.arange(100) * 1e-3))
    assert reading.value[0] > 0.3
    assert reading.value[0] > flat.value[0]


def test_elliott_counts_a_rising_impulse_in_wave_three() -> None:
    legs = [(100, 120), (120, 108), (108, 150)]  # wave 1 up, 2 down (holds), 3 running
    series = np.concatenate([np.linspace(a, b, 15, endpoint=False) for a, b in legs])
    series = np.r_[np.full(30, 100.0), series, [150.5]]
    reading = elliott_signal(features_of(series))
    assert reading.evidence["wave"][0] == 3
    assert reading.value[0] > 0


def test_every_signal_stays_within_minus_one_and_one_on_real_bars(daily_bars) -> None:  # type: ignore[no-untyped-def]
    closes = [bars.close for bars in daily_bars.values()]
    panel = panel_of(*closes)
    features = compute_features(panel, KernelWorkspace())
    for signal in (fibonacci_signal, ma_stack_signal, rsi_signal, cup_handle_signal,
                   elliott_signal):
        reading = signal(features)
        assert np.all(np.abs(reading.value) <= 1.0)
        assert np.all(reading.value[~reading.known] == 0.0)
