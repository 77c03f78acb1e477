"""Multi-timeframe confluence: weighted signal scores, with D/W/M anchoring the lower frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class Confluence:
    """Per-ticker confluence; arrays are ``(n,)`` unless noted."""

    timeframe_scores: FloatArray  # (T, n) weighted signal mean per timeframe, NaN = unknown
    anchor_score: FloatArray  # NaN when no anchor timeframe is known
    total: FloatArray  # S_total in [-1, 1]; 0 when nothing is known
    coverage: FloatArray  # share of the configured weight whose signals are known
    alignment: FloatArray  # |weighted sum| / weighted sum of |scores|: 1 = all agree
    gated: FloatArray  # (T, n) 1 where a lower timeframe was gated out by the anchors


def confluence(values: FloatArray, known: np.ndarray, config: EngineConfig) -> Confluence:
    """Score ``values`` (T, S, n) with the configured timeframe and signal weights.

    Anchors (D, W, M) always count. A lower timeframe (M30, H1, H4) counts only when it
    points the anchors' way: a 30-minute rally against a falling weekly chart is noise, and
    its weight still sits in the denominator, so it dilutes the score rather than vanishing.
    Without a known anchor no lower timeframe can be confirmed, so all of them are gated.
    """
    w_sig = config.signal_weights[None, :, None]
    known_f = known.astype(np.float64)
    weight_known = (w_sig * known_f).sum(axis=1)  # (T, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        tf_scores = np.where(weight_known > 0, (w_sig * values).sum(axis=1) / weight_known, np.nan)
    tf_known = np.isfinite(tf_scores)
    coverage_tf = weight_known / max(float(config.signal_weights.sum()), 1e-12)

    w_tf = config.timeframe_weights[:, None]
    anchors = config.anchor_mask[:, None]
    anchor_weight = (w_tf * (tf_known & anchors)).sum(axis=0)
    anchor_sum = (w_tf * np.where(tf_known & anchors, tf_scores, 0.0)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        anchor_score = np.where(anchor_weight > 0, anchor_sum / anchor_weight, np.nan)

    scores0 = np.where(tf_known, tf_scores, 0.0)
    anchor_sign = np.sign(np.nan_to_num(anchor_score))
    opposes = (np.sign(scores0) * anchor_sign[None, :] < 0) | ~np.isfinite(anchor_score)[None, :]
    gated = (~anchors) & tf_known & opposes
    contributing = np.where(gated, 0.0, scores0)
    denominator = (w_tf * tf_known).sum(axis=0)
    numerator = (w_tf * contributing).sum(axis=0)
    abs_sum = (w_tf * np.abs(contributing)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(denominator > 0, numerator / denominator, 0.0)
        alignment = np.where(abs_sum > 0, np.abs(numerator) / abs_sum, 0.0)
    coverage = (w_tf * coverage_tf).sum(axis=0)
    return Confluence(
        timeframe_scores=tf_scores,
        anchor_score=anchor_score,
        total=np.clip(total, -1.0, 1.0),
        coverage=np.clip(coverage, 0.0, 1.0),
        alignment=np.clip(alignment, 0.0, 1.0),
        gated=gated.astype(np.float64),
    )
