"""Probabilistic pipeline: Bayesian log-odds that a long setup reaches target before stop.

prior (from the regime) + one log-likelihood ratio per known signal and timeframe, less a
penalty for correlated signals, gives the posterior probability; its entropy gates the
verdict (too uncertain -> WATCH), and EV in R multiples comes from the exit plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import SIGNALS, FloatArray, MarketRegime, SignalName
from realtime.signal_engine.evidence import (
    VERDICT_BUY,
    VERDICT_SKIP,
    VERDICT_WATCH,
    Evidence,
)

#: Likelihood ratio of a full-strength signal: how much likelier it is before a winner.
SIGNAL_LIKELIHOOD_RATIOS = {
    SignalName.FIBONACCI: 1.8,
    SignalName.MA_STACK: 2.2,
    SignalName.RSI: 1.6,
    SignalName.CUP_HANDLE: 2.0,
    SignalName.ELLIOTT: 1.5,
}
LOG_LR = np.log(np.array([SIGNAL_LIKELIHOOD_RATIOS[name] for name in SIGNALS]))
#: The six timeframes see one market: together they count as this many independent looks.
EFFECTIVE_TIMEFRAMES = 2.0
#: Pairs that read the same thing on one timeframe (trend momentum; swing structure).
CORRELATED_PAIRS = (
    (SIGNALS.index(SignalName.MA_STACK), SIGNALS.index(SignalName.RSI)),
    (SIGNALS.index(SignalName.FIBONACCI), SIGNALS.index(SignalName.ELLIOTT)),
)
REGIMES = (MarketRegime.BULL, MarketRegime.BEAR, MarketRegime.SIDEWAYS)
STORMY_VOLATILITY = 1.5  # daily ATR/close this far above its mean: no bull regime

# Reason bits.
R_FILTER_FAILED = 1
R_FILTER_UNKNOWN = 2
R_TOO_UNCERTAIN = 4
R_NO_EXITS = 8
R_NEGATIVE_EV = 16
R_LOW_PROBABILITY = 32


@dataclass(frozen=True, slots=True, eq=False)
class ProbabilisticColumns:
    """Per-ticker Bayesian results; ``regime`` indexes ``REGIMES``."""

    verdict: np.ndarray
    probability: FloatArray
    log_odds: FloatArray
    entropy: FloatArray
    ev_r: FloatArray  # NaN without an exit plan
    payoff_ratio: FloatArray
    regime: np.ndarray
    reasons: np.ndarray


def detect_regime(regime_inputs: FloatArray) -> np.ndarray:
    """Bull, bear or sideways from the D and W trend and the daily volatility.

    ``regime_inputs`` rows: daily close, daily SMA50, daily trend slope, weekly close,
    weekly SMA20, weekly trend slope, daily ATR/close ratio to its mean. Each known trend
    test votes; three quarters up is bull (unless volatility is stormy), a quarter or less
    is bear, anything else - or fewer than two known votes - is sideways.
    """
    d_close, d_ma50, d_slope, w_close, w_ma20, w_slope, natr_ratio = regime_inputs
    with np.errstate(invalid="ignore"):
        tests = np.vstack([d_close - d_ma50, d_slope, w_close - w_ma20, w_slope])
    known = np.isfinite(tests)
    votes = known.sum(axis=0)
    up = (known & (np.nan_to_num(tests) > 0)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(votes > 0, up / np.maximum(votes, 1), 0.5)
    stormy = np.nan_to_num(natr_ratio, nan=1.0) > STORMY_VOLATILITY
    bull = (votes >= 2) & (share >= 0.75) & ~stormy
    bear = (votes >= 2) & (share <= 0.25)
    return np.where(bull, 0, np.where(bear, 1, 2)).astype(np.int64)


def signal_log_likelihood(values: FloatArray, config: EngineConfig) -> FloatArray:
    """Summed log-likelihood ratio of every known signal (T, S, n) -> (n,).

    Unknown signals hold value 0, i.e. no evidence either way. Within a timeframe, two
    correlated signals pointing the same way are worth less than two independent ones: the
    smaller of them is discounted by the configured penalty.
    """
    contributions = values * LOG_LR[None, :, None]
    rho = config.correlation_penalty
    for a, b in CORRELATED_PAIRS:
        first, second = contributions[:, a], contributions[:, b]
        same_sign = np.sign(first) * np.sign(second) > 0
        overlap = np.sign(first) * np.minimum(np.abs(first), np.abs(second))
        contributions[:, a] = first - np.where(same_sign, rho * overlap, 0.0)
    scale = config.timeframe_weights * EFFECTIVE_TIMEFRAMES
    return np.asarray((contributions.sum(axis=1) * scale[:, None]).sum(axis=0))


def binary_entropy(probability: FloatArray) -> FloatArray:
    """Entropy in bits of a yes/no outcome with this probability (1 = coin flip)."""
    p = np.clip(probability, 1e-12, 1.0 - 1e-12)
    return np.asarray(-(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p)))


def run_probabilistic(evidence: Evidence, config: EngineConfig) -> ProbabilisticColumns:
    """Posterior, entropy and EV_R per ticker, and the verdict they support."""
    regime = detect_regime(evidence.regime_inputs)
    priors = np.array([config.regime_priors[r] for r in REGIMES])[regime]
    log_odds = np.log(priors / (1.0 - priors)) + signal_log_likelihood(
        evidence.values.copy(), config
    )
    probability = 1.0 / (1.0 + np.exp(-log_odds))
    entropy = binary_entropy(probability)
    payoff = evidence.reward_r
    exits_known = evidence.exits_known & np.isfinite(payoff) & (payoff > 0)
    ev_r = np.where(exits_known, probability * payoff - (1.0 - probability), np.nan)

    failed = evidence.filter_failed.any(axis=0)
    unknown = evidence.filter_unknown.any(axis=0)
    uncertain = entropy > config.bayes_max_entropy
    with np.errstate(invalid="ignore"):
        good_ev = exits_known & (ev_r >= config.bayes_min_ev_r)
        negative_ev = exits_known & (ev_r <= 0)
    buy = (probability >= config.bayes_buy_probability) & good_ev & ~uncertain
    skip = ((probability < config.bayes_skip_probability) | negative_ev) & ~uncertain
    verdict = np.where(buy, VERDICT_BUY, np.where(skip, VERDICT_SKIP, VERDICT_WATCH))
    if config.unknown_filter_blocks_buy:
        verdict = np.where(unknown & (verdict == VERDICT_BUY), VERDICT_WATCH, verdict)
    verdict = np.where(failed, VERDICT_SKIP, verdict)
    reasons = (
        R_FILTER_FAILED * failed
        + R_FILTER_UNKNOWN * unknown
        + R_TOO_UNCERTAIN * uncertain
        + R_NO_EXITS * ~exits_known
        + R_NEGATIVE_EV * negative_ev
        + R_LOW_PROBABILITY * (probability < config.bayes_skip_probability)
    )
    return ProbabilisticColumns(
        verdict=verdict.astype(np.int64),
        probability=probability,
        log_odds=log_odds,
        entropy=entropy,
        ev_r=ev_r,
        payoff_ratio=np.where(exits_known, payoff, np.nan),
        regime=regime,
        reasons=reasons.astype(np.int64),
    )
