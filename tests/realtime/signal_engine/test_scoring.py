"""Confluence, filters, both pipelines and the delta analyzer, including property tests."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.confluence import confluence
from realtime.signal_engine.contracts import SIGNALS, TIMEFRAMES
from realtime.signal_engine.delta import compare
from realtime.signal_engine.evidence import (
    FAILED,
    VERDICT_BUY,
    VERDICT_SKIP,
    VERDICT_WATCH,
    Evidence,
)
from realtime.signal_engine.filters import FilterInputs, apply_filters
from realtime.signal_engine.pipelines import run_heuristic, run_probabilistic
from realtime.signal_engine.pipelines.bayesian import binary_entropy, detect_regime

CONFIG = EngineConfig.from_settings()
T, S = len(TIMEFRAMES), len(SIGNALS)
signal_values = arrays(np.float64, (T, S, 1), elements=st.floats(-1, 1))


def evidence_for(values: np.ndarray, known: np.ndarray | None = None, *, bull: bool = True,
                 filters_ok: bool = True) -> Evidence:
    n = values.shape[-1]
    known = np.ones_like(values, dtype=bool) if known is None else known
    conf = confluence(values, known, CONFIG)
    trend = 1.0 if bull else -1.0
    entry = np.full(n, 100.0)
    return Evidence(
        values=values, known=known, timeframe_scores=conf.timeframe_scores,
        anchor_score=conf.anchor_score, total=conf.total, coverage=conf.coverage,
        alignment=conf.alignment, gated=conf.gated,
        filter_failed=np.zeros((3, n), dtype=bool),
        filter_unknown=np.full((3, n), not filters_ok),
        entry=entry, stop=entry - 5, targets=np.vstack([entry + 10, entry + 15]),
        trailing_stop=entry - 6, atr=np.full(n, 2.5), structure_stop=np.zeros(n, dtype=bool),
        fib_targets=np.zeros(n, dtype=bool),
        regime_inputs=np.vstack([entry, entry - 5 * trend, np.full(n, 0.01 * trend), entry,
                                 entry - 5 * trend, np.full(n, 0.01 * trend), np.ones(n)]),
    )


@settings(max_examples=60, deadline=None)
@given(signal_values, st.integers(0, T - 1), st.integers(0, S - 1), st.floats(0, 1))
def test_stronger_bullish_evidence_never_lowers_score_or_probability(
    values: np.ndarray, t: int, s: int, bump: float
) -> None:
    stronger = values.copy()
    stronger[t, s, 0] = min(1.0, values[t, s, 0] + bump)
    before, after = evidence_for(values), evidence_for(stronger)
    assert run_heuristic(after, CONFIG).score[0] >= run_heuristic(before, CONFIG).score[0] - 1e-12
    p_before = run_probabilistic(before, CONFIG).probability[0]
    p_after = run_probabilistic(after, CONFIG).probability[0]
    assert p_after >= p_before - 1e-12


@settings(max_examples=60, deadline=None)
@given(signal_values, arrays(bool, (T, S, 1)))
def test_probabilities_scores_and_entropy_stay_in_range(
    values: np.ndarray, known: np.ndarray
) -> None:
    evidence = evidence_for(np.where(known, values, 0.0), known)
    heuristic = run_heuristic(evidence, CONFIG)
    probabilistic = run_probabilistic(evidence, CONFIG)
    assert 0.0 <= probabilistic.probability[0] <= 1.0
    assert 0.0 <= probabilistic.entropy[0] <= 1.0
    assert -1.0 <= heuristic.score[0] <= 1.0
    assert 0.0 <= heuristic.confidence[0] <= 1.0


@settings(max_examples=30, deadline=None)
@given(signal_values)
def test_identical_evidence_gives_identical_verdicts(values: np.ndarray) -> None:
    first = run_probabilistic(evidence_for(values.copy()), CONFIG)
    second = run_probabilistic(evidence_for(values.copy()), CONFIG)
    assert first.probability.tobytes() == second.probability.tobytes()
    assert first.verdict.tolist() == second.verdict.tolist()


def test_unanimous_bullish_evidence_buys_in_both_pipelines() -> None:
    evidence = evidence_for(np.full((T, S, 1), 0.9))
    assert run_heuristic(evidence, CONFIG).verdict[0] == VERDICT_BUY
    assert run_probabilistic(evidence, CONFIG).verdict[0] == VERDICT_BUY


def test_unknown_filter_inputs_cap_a_buy_at_watch() -> None:
    evidence = evidence_for(np.full((T, S, 1), 0.9), filters_ok=False)
    assert run_heuristic(evidence, CONFIG).verdict[0] == VERDICT_WATCH
    assert run_probabilistic(evidence, CONFIG).verdict[0] == VERDICT_WATCH


def test_bearish_evidence_is_skipped() -> None:
    evidence = evidence_for(np.full((T, S, 1), -0.8), bull=False)
    assert run_heuristic(evidence, CONFIG).verdict[0] == VERDICT_SKIP
    assert run_probabilistic(evidence, CONFIG).verdict[0] == VERDICT_SKIP


def test_lower_timeframes_against_the_anchors_are_gated_out() -> None:
    values = np.zeros((T, S, 1))
    values[3:] = 0.6  # D, W, M bullish
    values[:3] = -0.9  # M30, H1, H4 bearish
    result = confluence(values, np.ones_like(values, dtype=bool), CONFIG)
    assert result.gated[:3, 0].tolist() == [1.0, 1.0, 1.0]
    assert result.total[0] > 0


def test_without_a_known_anchor_confidence_is_zero() -> None:
    values = np.full((T, S, 1), 0.9)
    known = np.zeros_like(values, dtype=bool)
    known[:3] = True  # only intraday known
    evidence = evidence_for(np.where(known, values, 0.0), known)
    heuristic = run_heuristic(evidence, CONFIG)
    assert heuristic.confidence[0] == 0.0
    assert heuristic.verdict[0] != VERDICT_BUY


def test_correlated_signals_count_less_than_independent_ones() -> None:
    correlated = np.zeros((T, S, 1))
    correlated[3, SIGNALS.index("ma_stack")] = 0.8
    correlated[3, SIGNALS.index("rsi")] = 0.8
    independent = np.zeros((T, S, 1))
    independent[3, SIGNALS.index("ma_stack")] = 0.8
    independent[4, SIGNALS.index("rsi")] = 0.8 * 0.30 / 0.25  # same weighted push, other frame
    p_corr = run_probabilistic(evidence_for(correlated), CONFIG).log_odds[0]
    p_ind = run_probabilistic(evidence_for(independent), CONFIG).log_odds[0]
    assert p_corr < p_ind


def test_entropy_is_one_bit_at_a_coin_flip_and_falls_towards_certainty() -> None:
    values = binary_entropy(np.array([0.5, 0.8, 0.99]))
    assert values[0] == 1.0
    assert values[0] > values[1] > values[2]


def test_regime_is_bull_bear_or_sideways_by_trend_votes_and_volatility() -> None:
    up = [110.0, 100.0, 0.01, 110.0, 100.0, 0.01]
    down = [90.0, 100.0, -0.01, 90.0, 100.0, -0.01]
    rows = np.array([[*up, 1.0], [*down, 1.0], [*up, 2.0], [np.nan] * 7]).T
    assert detect_regime(rows).tolist() == [0, 1, 2, 2]


def test_filters_fail_on_earnings_blackout_bearish_macro_and_rich_valuation() -> None:
    inputs = FilterInputs(
        macro_bias=np.array([0.1, -0.8, 0.1, np.nan]),
        pe_ratio=np.array([15.0, 15.0, 80.0, 15.0]),
        sector_median_pe=np.array([15.0, 15.0, 15.0, 15.0]),
        days_to_earnings=np.array([3.0, 30.0, 30.0, 30.0]),
    )
    result = apply_filters(inputs, CONFIG)
    assert result.failed[:, 0].tolist() == [False, False, True]  # earnings in 3 days
    assert result.failed[:, 1].tolist() == [True, False, False]  # macro headwind
    assert result.failed[:, 2].tolist() == [False, True, False]  # 80x vs 15x sector
    assert result.unknown[:, 3].tolist() == [True, False, False]  # macro unknown
    assert not result.failed[:, 3].any()


def test_delta_agreement_and_conservative_consensus() -> None:
    h = np.array([VERDICT_BUY, VERDICT_BUY, VERDICT_BUY, FAILED, VERDICT_WATCH])
    p = np.array([VERDICT_BUY, VERDICT_WATCH, VERDICT_SKIP, VERDICT_BUY, VERDICT_WATCH])
    agreement, consensus = compare(h, p)
    assert agreement.tolist() == [0, 1, 2, 3, 0]
    assert consensus.tolist() == [VERDICT_BUY, VERDICT_WATCH, VERDICT_SKIP, VERDICT_WATCH,
                                  VERDICT_WATCH]
