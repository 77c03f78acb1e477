"""The batch API: equals per-series TA-Lib, writes into the caller's buffers, checks them."""

from __future__ import annotations

import numpy as np
import pytest
import talib

import signal_kernels as sk
from tests.signal_kernels.conftest import bytetheory_bars, random_walk
from tests.signal_kernels.test_talib_agreement import assert_matches_talib

NAMES = (
    "sma",
    "ema",
    "rsi",
    "atr",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
)


def talib_reference(h: np.ndarray, lo: np.ndarray, c: np.ndarray, **p: float) -> list[np.ndarray]:
    return [
        talib.SMA(c, p.get("sma_period", 20)),
        talib.EMA(c, p.get("ema_period", 20)),
        talib.RSI(c, p.get("rsi_period", 14)),
        talib.ATR(h, lo, c, p.get("atr_period", 14)),
        *talib.MACD(c, p.get("macd_fast", 12), p.get("macd_slow", 26), p.get("macd_signal", 9)),
        *talib.BBANDS(c, p.get("bb_period", 20), p.get("bb_nbdev", 2.0), p.get("bb_nbdev", 2.0), 0),
    ]


def panel(n_bars: int, n_series: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    walks = [random_walk(seed * 1000 + s, n_bars, level=10.0 + 5 * s) for s in range(n_series)]
    return tuple(np.column_stack([getattr(w, k) for w in walks]) for k in ("high", "low", "close"))


def assert_batch_matches_talib(
    out: sk.BatchOutputs, h: np.ndarray, lo: np.ndarray, c: np.ndarray, **params: float
) -> None:
    for s in range(c.shape[1]):
        col = np.ascontiguousarray
        refs = talib_reference(col(h[:, s]), col(lo[:, s]), col(c[:, s]), **params)
        for name, ref in zip(NAMES, refs, strict=True):
            assert_matches_talib(getattr(out, name)[:, s].copy(), ref)


def test_batch_matches_talib_per_series_on_random_walks() -> None:
    h, lo, c = panel(300, 37, seed=1)
    out = sk.allocate_batch_outputs(300, 37)
    assert sk.batch_indicators(h, lo, c, out) is out
    assert_batch_matches_talib(out, h, lo, c)


def test_batch_matches_talib_on_real_daily_bars() -> None:
    bars = list(bytetheory_bars().values())
    n = min(len(b.close) for b in bars)
    h, lo, c = (
        np.column_stack([getattr(b, k)[-n:] for b in bars]) for k in ("high", "low", "close")
    )
    out = sk.allocate_batch_outputs(n, len(bars))
    sk.batch_indicators(h, lo, c, out)
    assert_batch_matches_talib(out, h, lo, c)


def test_batch_with_custom_periods_matches_talib() -> None:
    params = {
        "sma_period": 7,
        "ema_period": 33,
        "rsi_period": 5,
        "atr_period": 1,
        "macd_fast": 30,
        "macd_slow": 10,
        "macd_signal": 1,
        "bb_period": 3,
        "bb_nbdev": 1.5,
    }
    h, lo, c = panel(120, 9, seed=2)
    out = sk.allocate_batch_outputs(120, 9)
    sk.batch_indicators(h, lo, c, out, **params)
    assert_batch_matches_talib(out, h, lo, c, **params)


def test_batch_series_with_leading_nans_match_talib_skipping() -> None:
    h, lo, c = panel(200, 8, seed=3)
    c[:50, 1] = np.nan  # listed later
    h[:3, 2] = np.nan  # only the high starts late
    c[:, 3] = np.nan  # no data at all
    c[:190, 4] = np.nan  # too short for anything but the SMA
    out = sk.allocate_batch_outputs(200, 8)
    sk.batch_indicators(h, lo, c, out)
    assert_batch_matches_talib(out, h, lo, c)
    assert np.isnan(out.rsi[:, 3]).all()


def test_batch_series_with_gaps_and_infinities_match_talib() -> None:
    h, lo, c = panel(250, 6, seed=4)
    c[100, 0] = np.nan
    lo[120, 1] = -np.inf
    h[30, 2] = np.inf
    c[60:65, 3] = np.nan
    out = sk.allocate_batch_outputs(250, 6)
    sk.batch_indicators(h, lo, c, out)
    assert_batch_matches_talib(out, h, lo, c)


def test_batch_output_buffers_are_reused_not_reallocated() -> None:
    h, lo, c = panel(100, 5, seed=5)
    out = sk.allocate_batch_outputs(100, 5)
    before = {name: getattr(out, name).__array_interface__["data"][0] for name in NAMES}
    sk.batch_indicators(h, lo, c, out)
    first = out.rsi.copy()
    sk.batch_indicators(h * 2.0, lo * 2.0, c * 2.0, out)
    after = {name: getattr(out, name).__array_interface__["data"][0] for name in NAMES}
    assert before == after
    np.testing.assert_allclose(out.rsi, first, equal_nan=True, atol=1e-9)


def test_batch_writes_into_caller_arrays() -> None:
    h, lo, c = panel(80, 3, seed=6)
    arrays = {name: np.full((80, 3), -1.0) for name in NAMES}
    out = sk.BatchOutputs(**arrays)
    sk.batch_indicators(h, lo, c, out)
    assert np.isnan(arrays["sma"][:19]).all()
    np.testing.assert_allclose(arrays["sma"][19:], out.sma[19:])
    assert not (arrays["bb_lower"] == -1.0).any()


def test_batch_accepts_int_and_float32_inputs() -> None:
    h, lo, c = panel(60, 4, seed=7)
    out = sk.allocate_batch_outputs(60, 4)
    sk.batch_indicators(h.astype(np.float32), lo.astype(np.float32), c.astype(np.float32), out)
    expected = sk.sma(c[:, 0].astype(np.float32), 20)
    np.testing.assert_array_equal(out.sma[:, 0], expected)
    sk.batch_indicators(
        np.round(h * 100).astype(np.int64),
        np.round(lo * 100).astype(np.int64),
        np.round(c * 100).astype(np.int64),
        out,
    )
    assert np.isfinite(out.atr[14:]).all()


def test_batch_rejects_wrong_input_shape_with_a_clear_message() -> None:
    out = sk.allocate_batch_outputs(50, 4)
    h, lo, c = panel(50, 4, seed=8)
    with pytest.raises(ValueError, match=r"close has shape \(4, 50\), expected \(50, 4\)"):
        sk.batch_indicators(h.T, lo.T, c.T.copy(), out)
    with pytest.raises(ValueError, match="2-D"):
        sk.batch_indicators(h[:, 0], lo[:, 0], c[:, 0], out)
    with pytest.raises(TypeError, match="numeric"):
        sk.batch_indicators(h, lo, c.astype(str), out)


def test_batch_rejects_bad_periods() -> None:
    out = sk.allocate_batch_outputs(30, 2)
    h, lo, c = panel(30, 2, seed=9)
    with pytest.raises(ValueError, match="rsi_period must be >= 2"):
        sk.batch_indicators(h, lo, c, out, rsi_period=1)
    with pytest.raises(ValueError, match=r"sma_period=31 is longer than the data \(30 bars\)"):
        sk.batch_indicators(h, lo, c, out, sma_period=31)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"rsi": np.zeros((10, 3), dtype=np.float32)}, TypeError, "rsi must have dtype float64"),
        ({"atr": np.zeros((10, 4))}, ValueError, r"atr has shape \(10, 4\), expected \(10, 3\)"),
        ({"ema": np.zeros((3, 10)).T}, ValueError, "ema must be C-contiguous"),
        ({"sma": np.zeros(30)}, ValueError, "sma must be 2-D"),
        ({"macd": [[0.0] * 3] * 10}, TypeError, "macd must be a numpy array"),
    ],
)
def test_batch_outputs_validate_their_buffers(
    change: dict[str, object], error: type, message: str
) -> None:
    arrays: dict[str, object] = {name: np.zeros((10, 3)) for name in NAMES}
    arrays.update(change)
    with pytest.raises(error, match=message):
        sk.BatchOutputs(**arrays)


def test_read_only_output_buffer_is_rejected() -> None:
    arrays = {name: np.zeros((10, 3)) for name in NAMES}
    arrays["bb_upper"].flags.writeable = False
    with pytest.raises(ValueError, match="bb_upper must be writeable"):
        sk.BatchOutputs(**arrays)


def test_allocate_rejects_empty_shapes() -> None:
    with pytest.raises(ValueError, match="n_bars and n_series must be >= 1"):
        sk.allocate_batch_outputs(0, 10)
