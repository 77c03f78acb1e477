"""Pivots, Fibonacci levels, MA stacks and chart patterns on series with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import signal_kernels as sk
from tests.signal_kernels.conftest import Bars, bokeh_bars, bytetheory_bars


def path(points: list[float], bars_per_leg: int = 10) -> np.ndarray:
    """Straight legs between the given turning points."""
    out: list[float] = []
    for a, b in itertools.pairwise(points):
        out.extend(np.linspace(a, b, bars_per_leg, endpoint=False))
    out.append(points[-1])
    return np.asarray(out)


IMPULSE = [100.0, 110.0, 104.0, 120.0, 114.0, 125.0]  # w2 60%, w3 1.6x w1, w4 37.5%


def test_zigzag_finds_the_turning_points_of_a_constructed_path() -> None:
    pivots = sk.zigzag(path([100, 110, 104, 120, 114, 125, 118]), threshold_pct=0.03)
    np.testing.assert_array_equal(pivots.index, [0, 10, 20, 30, 40, 50, 60])
    np.testing.assert_array_equal(pivots.price, [100, 110, 104, 120, 114, 125, 118])
    np.testing.assert_array_equal(pivots.kind, [-1, 1, -1, 1, -1, 1, -1])
    np.testing.assert_array_equal(pivots.confirmed, [True] * 6 + [False])
    assert len(pivots) == 7


def test_zigzag_ignores_moves_smaller_than_the_threshold() -> None:
    wiggle = path([100, 102, 100.5, 102.5, 101, 103], 5)
    pivots = sk.zigzag(wiggle, threshold_pct=0.05)
    assert len(pivots) == 0
    assert len(sk.zigzag(wiggle, threshold_pct=0.01)) >= 4


def test_zigzag_uses_highs_for_peaks_and_lows_for_troughs() -> None:
    close = path([100, 110, 100, 112], 10)
    pivots = sk.zigzag(close + 1.0, close - 1.0, threshold_pct=0.05)
    np.testing.assert_array_equal(pivots.price[:3], [99.0, 111.0, 99.0])


def test_zigzag_by_atr_multiple_scales_with_volatility() -> None:
    close = path([100, 110, 106, 118, 95], 10)
    high, low = close + 0.5, close - 0.5
    tight = sk.zigzag(high, low, atr_multiple=2.0, close=close, atr_period=5)
    loose = sk.zigzag(high, low, atr_multiple=8.0, close=close, atr_period=5)
    assert len(tight) > len(loose) >= 2
    assert set(np.diff(tight.kind)) <= {-2, 2}


def test_fibonacci_levels_of_the_last_confirmed_swing() -> None:
    pivots = sk.zigzag(path([100, 150, 120]), threshold_pct=0.05)
    levels = sk.fibonacci_levels(pivots)
    assert levels is not None
    assert (levels.start_price, levels.end_price, levels.direction) == (100.0, 150.0, 1)
    assert levels.retracements[0.5] == pytest.approx(125.0)
    assert levels.retracements[0.618] == pytest.approx(150 - 0.618 * 50)
    assert levels.extensions[1.618] == pytest.approx(100 + 1.618 * 50)
    running = sk.fibonacci_levels(pivots, confirmed_only=False)
    assert running is not None and running.direction == -1 and running.end_price == 120.0
    assert sk.fibonacci_levels(sk.zigzag(np.linspace(1, 2, 30), threshold_pct=0.05)) is None


def test_a_textbook_impulse_is_labelled_wave_five() -> None:
    wave = sk.elliott_wave(sk.zigzag(path(IMPULSE), threshold_pct=0.03))
    assert wave is not None
    assert (wave.direction, wave.wave, wave.complete) == (1, 5, False)
    assert wave.pivot_index == (0, 10, 20, 30, 40, 50)
    assert wave.confidence > 0.8


def test_the_correction_after_five_waves_marks_the_impulse_complete() -> None:
    wave = sk.elliott_wave(sk.zigzag(path([*IMPULSE, 117.0]), threshold_pct=0.03))
    assert wave is not None and wave.complete and wave.wave == 5


def test_the_wave_in_progress_is_reported_mid_impulse() -> None:
    wave = sk.elliott_wave(sk.zigzag(path(IMPULSE[:5]), threshold_pct=0.03))
    assert wave is not None and (wave.wave, wave.complete) == (4, False)
    bearish = sk.elliott_wave(sk.zigzag(path([200 - p for p in IMPULSE]), threshold_pct=0.03))
    assert bearish is not None and bearish.direction == -1 and bearish.wave == 5


@pytest.mark.parametrize(
    ("prices", "rule"),
    [
        ([100, 110, 98, 120], "wave 2 retraces beyond the start of wave 1"),
        ([100, 110, 104, 120, 108, 125], "wave 4 overlaps wave 1 territory"),
        ([100, 110, 104, 109, 106, 118], "wave 3 does not go beyond the end of wave 1"),
        ([100, 120, 110, 125, 122, 140], "wave 3 is the shortest of waves 1, 3 and 5"),
    ],
)
def test_each_impulse_rule_is_enforced(prices: list[float], rule: str) -> None:
    assert rule in sk.impulse_rule_violations(prices)
    wave = sk.elliott_wave(sk.zigzag(path(prices), threshold_pct=0.015))
    assert wave is None or wave.pivot_index[0] != 0 or len(wave.pivot_index) < len(prices)


def test_a_valid_impulse_breaks_no_rule() -> None:
    assert sk.impulse_rule_violations(IMPULSE) == ()
    assert sk.impulse_rule_violations([p * -1 for p in IMPULSE]) == ()


def cup_and_handle_series() -> np.ndarray:
    rise = np.linspace(80, 100, 30)
    t = np.linspace(-1, 1, 81)
    cup = 100 - 25 * (1 - t**2)  # a U from the rim at 100 down to 75 and back
    handle = np.r_[np.linspace(100, 94, 6)[1:], np.linspace(94, 99, 6)[1:]]
    breakout = np.linspace(100.5, 110, 10)
    return np.r_[rise, cup[1:], handle, breakout]


def test_a_constructed_cup_and_handle_is_found_with_its_spans() -> None:
    (found,) = sk.find_cup_and_handle(cup_and_handle_series())
    assert found.left_rim == 29 and found.right_rim == 109
    assert found.bottom == 69
    assert 110 <= found.handle_low <= 115 and found.handle_end == 119
    assert found.depth == pytest.approx(0.25)
    assert 0.2 < found.handle_depth < 0.3
    assert found.breakout_level == 100.0
    assert 0.8 <= found.quality <= 1.0


def test_a_v_shaped_cup_scores_lower_than_a_rounded_one() -> None:
    rounded = sk.find_cup_and_handle(cup_and_handle_series())[0]
    v_shape = cup_and_handle_series()
    v_shape[30:110] = np.r_[np.linspace(100, 75, 41)[1:], np.linspace(75, 100, 41)[1:]]
    sharp = sk.find_cup_and_handle(v_shape)
    assert sharp and sharp[0].quality < rounded.quality


@pytest.mark.parametrize(
    "series",
    [
        np.linspace(10, 50, 300),
        np.linspace(50, 10, 300),
        np.full(300, 42.0),
        100 + np.sin(np.arange(300) / 3.0),
    ],
    ids=["rising", "falling", "flat", "fast-wiggle"],
)
def test_series_without_the_pattern_yield_none(series: np.ndarray) -> None:
    assert sk.find_cup_and_handle(series) == []


def test_a_cup_without_a_handle_is_not_reported() -> None:
    x = cup_and_handle_series()[:110]
    assert sk.find_cup_and_handle(np.r_[x, np.linspace(100.5, 120, 20)]) == []


REAL = [*bytetheory_bars().values(), *bokeh_bars().values()]


@pytest.mark.parametrize("bars", REAL, ids=lambda b: b.name)
def test_detectors_on_real_bars_are_deterministic_and_well_formed(bars: Bars) -> None:
    pivots = sk.zigzag(bars.high, bars.low, atr_multiple=3.0, close=bars.close)
    again = sk.zigzag(bars.high, bars.low, atr_multiple=3.0, close=bars.close)
    np.testing.assert_array_equal(pivots.index, again.index)
    assert (np.diff(pivots.index) > 0).all() and (np.diff(pivots.kind) != 0).all()
    cups = sk.find_cup_and_handle(bars.close)
    assert cups == sk.find_cup_and_handle(bars.close)
    for cup in cups:
        assert cup.left_rim < cup.bottom < cup.right_rim < cup.handle_low <= cup.handle_end
        assert 0.0 <= cup.quality <= 1.0
    wave = sk.elliott_wave(sk.zigzag(bars.close, threshold_pct=0.05))
    assert wave == sk.elliott_wave(sk.zigzag(bars.close, threshold_pct=0.05))
    if wave is not None:
        assert 1 <= wave.wave <= 5 and 0.0 <= wave.confidence <= 1.0
    levels = sk.fibonacci_levels(pivots)
    if levels is not None:
        low, high = sorted((levels.start_price, levels.end_price))
        assert all(low <= v <= high for v in levels.retracements.values())


def test_ma_stack_alignment_scores_partial_order() -> None:
    x = np.r_[np.linspace(100, 200, 250), np.linspace(200, 150, 30)]
    score = sk.ma_stack_alignment(x, (5, 10, 20))
    assert score[240] == 1.0
    assert score[-1] == -1.0
    after_turn = score[250:]
    assert ((after_turn > -1.0) & (after_turn < 1.0)).any()
    assert (np.diff(after_turn) <= 0).all()
    ema_score = sk.ma_stack_alignment(x, (5, 10, 20), kind="ema")
    assert ema_score[240] == 1.0
