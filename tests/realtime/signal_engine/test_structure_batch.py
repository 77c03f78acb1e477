"""The batch structure path gives exactly what the per-series kernels give."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from realtime.signal_engine import SignalEngine, TickerInputs, Timeframe, inputs_from_daily
from realtime.signal_engine import structure as st
from realtime.signal_engine.contracts import Bars, FloatArray
from realtime.signal_engine.normalizer import assemble, daily_bars_from_dates
from stonks.universe import load_daily_bars
from tests.realtime.signal_engine.conftest import AS_OF, random_walk_bars
from tests.realtime.signal_engine.test_feature_cache import snapshot, universe


def per_series_rows(
    high: FloatArray, low: FloatArray, close: FloatArray, lengths: npt.NDArray[np.int64],
    series: npt.NDArray[np.intp], buffers: st.StructureBuffers,
    swings: st.SwingCache | None = None, *, trailing_high: bool = True,
) -> FloatArray:
    """``structure_rows`` the old way: one ``structure_row`` (single-series kernels) each."""
    n_bars = close.shape[0]
    rows = np.empty((series.shape[0], st.ROW_WIDTH))
    for i, s in enumerate(series.tolist()):
        start = n_bars - int(lengths[s])
        rows[i] = st.EMPTY_ROW
        st.structure_row(*(np.ascontiguousarray(a[start:, s]) for a in (high, low, close)),
                         rows[i], swings, trailing_high=trailing_high)
    return rows


def real_universe(n_tickers: int) -> list[TickerInputs]:
    """Real daily bars (W and M resampled from them) of the first tickers of the bundled
    S&P 500 file, with seeded intraday walks; histories of unequal length."""
    daily = load_daily_bars()
    start = int(AS_OF.timestamp()) - 400 * 1800
    out = []
    for i, ticker in enumerate(sorted(daily)[:n_tickers]):
        b = daily[ticker]
        bars = daily_bars_from_dates(b.dates, b.open, b.high, b.low, b.close, b.volume)
        cut = len(bars) - (i % 7) * 20  # some short histories
        intraday = {tf: random_walk_bars(11 * i + j, 200 + 17 * (i % 9), start, 1800)
                    for j, tf in enumerate((Timeframe.M30, Timeframe.H1, Timeframe.H4))}
        out.append(inputs_from_daily(
            ticker, Bars(*(getattr(bars, f)[:cut] for f in Bars.__dataclass_fields__)),
            intraday=intraday))
    return out


# M is left out: a year of real daily bars makes ~12 monthly bars, too few for structure.
@pytest.mark.parametrize("timeframe", [tf for tf in Timeframe if tf is not Timeframe.M])
def test_structure_rows_equal_structure_row_per_series_on_real_bars(
    timeframe: Timeframe,
) -> None:
    batch = assemble(real_universe(120), AS_OF, 300)
    panel = batch.panels[timeframe]
    lengths = panel.lengths.astype(np.int64)
    series = np.flatnonzero(lengths >= 30)
    assert series.size > 50
    high, low, close = (np.ascontiguousarray(a, dtype=np.float64)
                        for a in (panel.high, panel.low, panel.close))
    expected = per_series_rows(high, low, close, lengths, series, st.StructureBuffers())
    swings = st.SwingCache()
    for _ in range(2):  # a cold and a warm swing cache
        got = st.structure_rows(high, low, close, lengths, series, st.StructureBuffers(),
                                swings)
        np.testing.assert_array_equal(got, expected)  # bit for bit, NaN where NaN
    assert np.isfinite(got[:, st.FIB_LOW]).any() and (got[:, st.ELLIOTT_WAVE] != 0).any()


def test_the_engine_gives_the_same_outputs_as_with_per_series_kernels(
    daily_bars: dict[str, Bars], monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = [real_universe(60)] + [universe(daily_bars, drop) for drop in (2, 1, 0)]
    with SignalEngine(parallel=False) as engine:
        batched = [engine.evaluate_batch(inputs, AS_OF, "t") for inputs in ticks]
    monkeypatch.setattr(st, "structure_rows", per_series_rows)
    with SignalEngine(parallel=False) as engine:
        per_series = [engine.evaluate_batch(inputs, AS_OF, "t") for inputs in ticks]
    for got, expected in zip(batched, per_series, strict=True):
        assert repr(snapshot(got)) == repr(snapshot(expected))
