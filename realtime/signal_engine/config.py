"""The engine's knobs as one immutable object, read from ``stonks.config.Settings``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.contracts import (
    ANCHOR_TIMEFRAMES,
    SIGNALS,
    TIMEFRAMES,
    FloatArray,
    MarketRegime,
)
from stonks.config import Settings, get_settings


@dataclass(frozen=True, slots=True, eq=False)
class EngineConfig:
    """Weights as arrays in ``TIMEFRAMES`` / ``SIGNALS`` order, thresholds as floats."""

    dual_pipeline_enabled: bool
    bars_window: int
    timeframe_weights: FloatArray
    anchor_mask: np.ndarray
    signal_weights: FloatArray
    heuristic_buy_score: float
    heuristic_watch_score: float
    heuristic_min_confidence: float
    regime_priors: dict[MarketRegime, float]
    bayes_buy_probability: float
    bayes_skip_probability: float
    bayes_max_entropy: float
    bayes_min_ev_r: float
    correlation_penalty: float
    earnings_blackout_days: int
    macro_min_bias: float
    max_relative_pe: float
    unknown_filter_blocks_buy: bool
    atr_stop_multiple: float
    trailing_atr_multiple: float
    r_targets: tuple[float, ...]
    agreement_window: int

    @staticmethod
    def from_settings(settings: Settings | None = None) -> EngineConfig:
        """The configuration of ``settings`` (default: the process settings)."""
        s = settings or get_settings()
        unknown_tf = set(s.signal_timeframe_weights) - {str(t) for t in TIMEFRAMES}
        unknown_sig = set(s.signal_weights) - {str(n) for n in SIGNALS}
        if unknown_tf or unknown_sig:
            raise ValueError(
                f"unknown signal engine weight keys: {sorted(unknown_tf | unknown_sig)}"
            )
        tf_weights = np.array([s.signal_timeframe_weights.get(str(t), 0.0) for t in TIMEFRAMES])
        sig_weights = np.array([s.signal_weights.get(str(n), 0.0) for n in SIGNALS])
        if (tf_weights < 0).any() or (sig_weights < 0).any() or tf_weights.sum() <= 0:
            raise ValueError("signal engine weights must be >= 0 with a positive total")
        priors = {regime: float(s.signal_regime_priors[str(regime)]) for regime in MarketRegime}
        if not all(0.0 < p < 1.0 for p in priors.values()):
            raise ValueError("signal_regime_priors must lie strictly between 0 and 1")
        if not s.signal_r_targets or min(s.signal_r_targets) <= 0:
            raise ValueError("signal_r_targets must be positive R multiples")
        return EngineConfig(
            dual_pipeline_enabled=s.dual_pipeline_enabled,
            bars_window=s.signal_bars_window,
            timeframe_weights=tf_weights / tf_weights.sum(),
            anchor_mask=np.array([t in ANCHOR_TIMEFRAMES for t in TIMEFRAMES]),
            signal_weights=sig_weights,
            heuristic_buy_score=s.signal_heuristic_buy_score,
            heuristic_watch_score=s.signal_heuristic_watch_score,
            heuristic_min_confidence=s.signal_heuristic_min_confidence,
            regime_priors=priors,
            bayes_buy_probability=s.signal_bayes_buy_probability,
            bayes_skip_probability=s.signal_bayes_skip_probability,
            bayes_max_entropy=s.signal_bayes_max_entropy,
            bayes_min_ev_r=s.signal_bayes_min_ev_r,
            correlation_penalty=s.signal_bayes_correlation_penalty,
            earnings_blackout_days=s.signal_earnings_blackout_days,
            macro_min_bias=s.signal_macro_min_bias,
            max_relative_pe=s.signal_max_relative_pe,
            unknown_filter_blocks_buy=s.signal_unknown_filter_blocks_buy,
            atr_stop_multiple=s.signal_atr_stop_multiple,
            trailing_atr_multiple=s.signal_trailing_atr_multiple,
            r_targets=tuple(sorted(s.signal_r_targets)),
            agreement_window=s.signal_agreement_window,
        )
