"""The per-tick caches and the kernel-backed structure: never stale, same as recomputing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import signal_kernels as sk
from realtime.signal_engine import SignalEngine, TickerInputs, Timeframe, inputs_from_daily
from realtime.signal_engine import structure as st
from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.features import KernelWorkspace, Panel, compute_features
from realtime.signal_engine.normalizer import assemble
from tests.realtime.signal_engine.conftest import AS_OF, TICKERS, random_walk_bars


def head(bars: Bars, end: int) -> Bars:
    return Bars(*(getattr(bars, f.name)[:end] for f in dataclasses.fields(Bars)))


def universe(daily_bars: dict[str, Bars], drop: int) -> list[TickerInputs]:
    """Every ticker with daily and intraday bars, ``drop`` bars short on every timeframe."""
    start = int(AS_OF.timestamp()) - 400 * 1800
    out = []
    for i, ticker in enumerate(TICKERS):
        intraday = {
            tf: head(random_walk_bars(7 * i + j, 330, start, step), 330 - drop)
            for j, (tf, step) in enumerate(((Timeframe.M30, 1800), (Timeframe.H1, 1800),
                                            (Timeframe.H4, 1800)))
        }
        daily = daily_bars[ticker]
        out.append(inputs_from_daily(ticker, head(daily, len(daily) - drop), intraday=intraday))
    return out


def snapshot(outputs: list) -> list[tuple[object, ...]]:  # type: ignore[type-arg]
    return [
        (o.heuristic, o.probabilistic, o.exits, o.agreement, o.consensus, dict(o.evidence))
        for o in outputs
    ]


def test_a_new_bar_on_every_timeframe_is_never_served_a_stale_result(
    daily_bars: dict[str, Bars],
) -> None:
    with SignalEngine(parallel=False) as engine:
        for drop in (5, 4, 3, 2, 1, 0):  # each tick one more bar on every timeframe
            batch = assemble(universe(daily_bars, drop), AS_OF, engine.config.bars_window)
            ticked = engine.evaluate_market(batch, "t")
            with SignalEngine(parallel=False) as fresh:
                recomputed = fresh.evaluate_market(
                    assemble(universe(daily_bars, drop), AS_OF, fresh.config.bars_window), "t"
                )
            assert snapshot(ticked) == snapshot(recomputed)


def test_a_revised_bar_is_recomputed_not_served_from_the_cache(
    daily_bars: dict[str, Bars],
) -> None:
    inputs = universe(daily_bars, 0)
    with SignalEngine(parallel=False) as engine:
        before = engine.evaluate_batch(inputs, AS_OF, "t")
        daily = inputs[0].bars_for(Timeframe.D)
        assert isinstance(daily, Bars)
        close = daily.close.copy()
        close[-1] *= 0.8  # the vendor corrects the last close: same timestamps, new value
        revised = dataclasses.replace(daily, close=close, low=np.minimum(daily.low, close))
        inputs[0] = inputs_from_daily(inputs[0].ticker, revised,
                                      intraday={tf: inputs[0].bars_for(tf) for tf in
                                                (Timeframe.M30, Timeframe.H1, Timeframe.H4)})
        after = engine.evaluate_batch(inputs, AS_OF, "t")
    with SignalEngine(parallel=False) as fresh:
        expected = fresh.evaluate_batch(inputs, AS_OF, "t")
    assert snapshot(after) == snapshot(expected)
    assert dict(after[0].evidence) != dict(before[0].evidence)
    assert snapshot(after[1:]) == snapshot(before[1:])


def test_an_unchanged_tick_reuses_every_row_and_gives_the_same_outputs(
    daily_bars: dict[str, Bars],
) -> None:
    workspace = KernelWorkspace()
    batch = assemble(universe(daily_bars, 0), AS_OF, 300)
    first = {tf: compute_features(panel, workspace) for tf, panel in batch.panels.items()}
    computed = workspace.rows_computed
    assert computed > 0
    again = assemble(universe(daily_bars, 0), AS_OF, 300)  # new arrays, same bars
    second = {tf: compute_features(panel, workspace) for tf, panel in again.panels.items()}
    assert workspace.rows_computed == computed
    for tf in first:
        np.testing.assert_array_equal(first[tf].structure, second[tf].structure)
    one_more = assemble(universe(daily_bars, 0)[:1] + universe(daily_bars, 1)[1:], AS_OF, 300)
    for panel in one_more.panels.values():
        compute_features(panel, workspace)
    # Tickers 1.. lost a bar on every timeframe with enough history: only they recompute.
    assert 0 < workspace.rows_computed - computed <= (len(TICKERS) - 1) * len(Timeframe)


def test_a_panel_the_engine_has_seen_cannot_be_edited_in_place(
    daily_bars: dict[str, Bars],
) -> None:
    batch = assemble(universe(daily_bars, 0), AS_OF, 300)
    workspace = KernelWorkspace()
    panel = batch.panels[Timeframe.D]
    compute_features(panel, workspace)
    with pytest.raises(ValueError, match="read-only"):
        panel.close[-1, 0] = 1.0


def test_structure_rows_are_the_kernels_results(daily_bars: dict[str, Bars]) -> None:
    bars = daily_bars["AAPL"]
    high, low, close = bars.high, bars.low, bars.close
    row = st.EMPTY_ROW.copy()
    st.structure_row(high, low, close, row)
    for j, period in st.SERIES_MA_PERIODS:
        assert row[st.MA + j] == pytest.approx(sk.sma(close, period)[-1], rel=1e-12)
    pivots = sk.zigzag(high, low, atr_multiple=st.ZIGZAG_ATR_MULTIPLE, close=close)
    confirmed = pivots.price[pivots.confirmed]
    kept = row[st.PIVOT_PRICE : st.PIVOT_PRICE + st.PIVOT_SLOTS]
    np.testing.assert_array_equal(kept[np.isfinite(kept)], confirmed[-st.PIVOT_SLOTS:])
    fib = sk.fibonacci_levels(pivots)
    assert fib is not None
    assert row[st.FIB_DIRECTION] == fib.direction
    assert {row[st.FIB_LOW], row[st.FIB_HIGH]} == {fib.start_price, fib.end_price}
    wave = sk.elliott_wave(pivots, include_unconfirmed=False)
    expected_wave = 0 if wave is None else wave.direction * (6 if wave.complete else wave.wave)
    assert row[st.ELLIOTT_WAVE] == expected_wave
    assert row[st.RECENT_HIGH] == high[-st.TRAIL_LOOKBACK:].max()


def test_the_swing_cache_gives_exactly_what_recomputing_gives(
    daily_bars: dict[str, Bars],
) -> None:
    swings = st.SwingCache()
    for bars in daily_bars.values():
        for end in range(len(bars) - 30, len(bars)):  # consecutive ticks share pivots
            cached, recomputed = st.EMPTY_ROW.copy(), st.EMPTY_ROW.copy()
            args = (bars.high[:end], bars.low[:end], bars.close[:end])
            st.structure_row(*args, cached, swings)
            st.structure_row(*args, recomputed)
            np.testing.assert_array_equal(cached, recomputed)
    assert 0 < len(swings) < len(daily_bars) * 30  # some ticks hit


def test_short_panels_are_padded_for_the_batch_kernel() -> None:
    close = np.linspace(100, 120, 40)[:, None]
    panel = Panel(Timeframe.M, close * 1.01, close * 0.99, close, np.array([40]))
    features = compute_features(panel, KernelWorkspace())
    assert features.available[0]
    assert np.isfinite(features.atr[0]) and np.isfinite(features.rsi_tail[-1, 0])


def test_a_series_that_breaks_a_kernel_costs_only_its_own_timeframe(
    daily_bars: dict[str, Bars], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = universe(daily_bars, 0)
    with SignalEngine(parallel=False) as engine:
        clean = engine.evaluate_batch(inputs, AS_OF, "t")
    poisoned = inputs[1].bars_for(Timeframe.D)
    assert isinstance(poisoned, Bars)
    real_zigzag_batch = st.zigzag_batch

    def zigzag_failing_on_one_series(high, low, close, out, **kwargs):  # type: ignore[no-untyped-def]
        # The engine computes pivots of a panel's columns in one batch call: it fails
        # whenever the poisoned series is among them.
        lengths = kwargs["lengths"]
        if any(lengths[s] == len(poisoned) and high[-1, s] == poisoned.high[-1]
               for s in range(high.shape[1])):
            raise RuntimeError("kernel fault")
        return real_zigzag_batch(high, low, close, out, **kwargs)

    monkeypatch.setattr(st, "zigzag_batch", zigzag_failing_on_one_series)
    with SignalEngine(parallel=False) as engine:
        outputs = engine.evaluate_batch(inputs, AS_OF, "t")
    errors = outputs[1].evidence["errors"]
    assert any(e.startswith("features@D: RuntimeError: kernel fault") for e in errors)
    assert outputs[1].evidence["timeframes"]["D"]["score"] is None  # D unknown, not zero
    assert outputs[1].heuristic is not None and outputs[1].probabilistic is not None
    others = [i for i in range(len(TICKERS)) if i != 1]
    assert snapshot([outputs[i] for i in others]) == snapshot([clean[i] for i in others])
