"""Arguments are checked once at the boundary, with clear errors; conversions are faithful."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import signal_kernels as sk
from tests.signal_kernels.conftest import random_walk

WALK = random_walk(21, 120)

SINGLE_INPUT: dict[str, Callable[..., Any]] = {
    "sma": lambda x: sk.sma(x, 5),
    "ema": lambda x: sk.ema(x, 5),
    "rsi": lambda x: sk.rsi(x, 5),
    "macd": lambda x: sk.macd(x, 3, 8, 4),
    "bbands": lambda x: sk.bbands(x, 5, 2.0),
    "rolling_std": lambda x: sk.rolling_std(x, 5),
    "rolling_max": lambda x: sk.rolling_max(x, 5),
    "rolling_min": lambda x: sk.rolling_min(x, 5),
    "atr": lambda x: sk.atr(x, x, x, 5),
    "true_range": lambda x: sk.true_range(x, x, x),
    "ma_stack_alignment": lambda x: sk.ma_stack_alignment(x, (3, 5, 8)),
    "zigzag": lambda x: sk.zigzag(x, threshold_pct=0.02).price,
    "find_cup_and_handle": lambda x: sk.find_cup_and_handle(x),
}


def as_list(result: Any) -> list[np.ndarray]:
    if isinstance(result, tuple):
        return [np.asarray(r) for r in result]
    if isinstance(result, list):
        return [np.asarray([vars(r) if hasattr(r, "__dict__") else repr(r) for r in result])]
    return [np.asarray(result)]


@pytest.mark.parametrize("name", sorted(SINGLE_INPUT))
@pytest.mark.parametrize(
    "bad",
    [
        np.array(["1.0", "2.0"] * 30),
        np.array([object()] * 60, dtype=object),
        np.array([1.0, None] * 30, dtype=object),
        np.ones(60, dtype=np.complex128),
        np.ones(60, dtype=bool),
        np.array(["2024-01-01"] * 60, dtype="datetime64[D]"),
    ],
    ids=["str", "object", "object-with-none", "complex", "bool", "datetime"],
)
def test_non_numeric_input_raises_type_error(name: str, bad: np.ndarray) -> None:
    with pytest.raises(TypeError, match="must be numeric"):
        SINGLE_INPUT[name](bad)


@pytest.mark.parametrize("name", sorted(SINGLE_INPUT))
def test_strided_input_gives_the_same_answer_as_contiguous(name: str) -> None:
    wide = np.repeat(WALK.close, 3)
    strided = wide[::3]
    assert not strided.flags.c_contiguous
    contiguous = np.ascontiguousarray(strided)
    for got, want in zip(
        as_list(SINGLE_INPUT[name](strided)), as_list(SINGLE_INPUT[name](contiguous)), strict=True
    ):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(SINGLE_INPUT))
def test_int_float32_and_list_inputs_are_converted_to_float64(name: str) -> None:
    ints = np.round(WALK.close * 100).astype(np.int64)
    want = as_list(SINGLE_INPUT[name](ints.astype(np.float64)))
    for converted in (ints, ints.astype(np.int32), ints.astype(np.uint32), ints.tolist()):
        for got, expected in zip(as_list(SINGLE_INPUT[name](converted)), want, strict=True):
            np.testing.assert_array_equal(got, expected)
    f32 = WALK.close.astype(np.float32)
    for got, expected in zip(
        as_list(SINGLE_INPUT[name](f32)),
        as_list(SINGLE_INPUT[name](f32.astype(np.float64))),
        strict=True,
    ):
        np.testing.assert_array_equal(got, expected)


def test_input_arrays_are_not_modified() -> None:
    x = WALK.close.copy()
    before = x.copy()
    sk.indicators_all(x, x, x)
    sk.bbands(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: sk.sma(x, 0), "period must be >= 1, got 0"),
        (lambda x: sk.ema(x, -3), "period must be >= 1, got -3"),
        (lambda x: sk.rsi(x, 1), "period must be >= 2, got 1"),
        (lambda x: sk.atr(x, x, x, 0), "period must be >= 1, got 0"),
        (lambda x: sk.bbands(x, 0), "period must be >= 1, got 0"),
        (lambda x: sk.macd(x, 1, 26, 9), "fast must be >= 2, got 1"),
        (lambda x: sk.macd(x, 12, 26, 0), "signal must be >= 1, got 0"),
        (lambda x: sk.sma(x, 121), r"period=121 is longer than the data \(120 bars\)"),
        (lambda x: sk.rsi(x, 500), r"period=500 is longer than the data \(120 bars\)"),
        (lambda x: sk.macd(x, 12, 200, 9), r"slow=200 is longer than the data \(120 bars\)"),
        (lambda x: sk.rolling_std(x, 5, ddof=5), r"ddof must be in \[0, period\)"),
        (lambda x: sk.rolling_max(x, 0), "period must be >= 1, got 0"),
        (lambda x: sk.ma_stack_alignment(x, (10, 10)), "periods must be distinct"),
        (lambda x: sk.ma_stack_alignment(x, (10, 200)), r"period=200 is longer than the data"),
        (lambda x: sk.zigzag(x), "exactly one of threshold_pct or atr_multiple"),
        (lambda x: sk.zigzag(x, threshold_pct=-0.1), "threshold_pct must be > 0"),
        (lambda x: sk.zigzag(x, atr_multiple=2.0), "atr_multiple needs close prices"),
        (lambda x: sk.find_cup_and_handle(x, min_depth=0.6, max_depth=0.5), "min_depth"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_problem(
    call: Callable[[np.ndarray], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(WALK.close)


def test_two_dimensional_input_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"x must be 1-dimensional, got shape \(2, 60\)"):
        sk.sma(WALK.close.reshape(2, 60), 5)


def test_empty_input_is_too_short_for_any_period() -> None:
    with pytest.raises(ValueError, match=r"longer than the data \(0 bars\)"):
        sk.ema(np.array([]), 3)


def test_high_low_close_of_different_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="high and low must have the same length, got 120 and 119"):
        sk.atr(WALK.high, WALK.low[:-1], WALK.close, 14)
    with pytest.raises(ValueError, match="must have the same length"):
        sk.indicators_all(WALK.high, WALK.low, WALK.close[:-1])


def test_all_nan_input_gives_all_nan_output_not_an_error() -> None:
    x = np.full(50, np.nan)
    for result in (
        sk.sma(x, 5),
        sk.ema(x, 5),
        sk.rsi(x, 5),
        sk.atr(x, x, x, 5),
        *sk.macd(x, 3, 8, 4),
        *sk.bbands(x, 5),
        sk.rolling_std(x, 5),
    ):
        assert result.shape == (50,)
        assert np.isnan(result).all()


def test_outputs_are_fresh_writeable_float64_arrays() -> None:
    x = WALK.close
    for result in (sk.sma(x, 5), *sk.macd(x), *sk.bbands(x)):
        assert result.dtype == np.float64
        assert result.flags.c_contiguous and result.flags.writeable
        assert not np.shares_memory(result, x)
