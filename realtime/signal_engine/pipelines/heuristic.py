"""Heuristic pipeline: S_total from confluence, a confidence, confidence-gated thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import FloatArray
from realtime.signal_engine.evidence import (
    VERDICT_BUY,
    VERDICT_SKIP,
    VERDICT_WATCH,
    Evidence,
)

# Reason bits (see reasons.py for the words).
R_FILTER_FAILED = 1
R_FILTER_UNKNOWN = 2
R_LOW_CONFIDENCE = 4
R_BELOW_WATCH = 8
R_NO_ANCHOR = 16


@dataclass(frozen=True, slots=True, eq=False)
class HeuristicColumns:
    """Per-ticker heuristic results; ``verdict`` uses the codes of ``evidence``."""

    verdict: np.ndarray
    score: FloatArray
    confidence: FloatArray
    reasons: np.ndarray  # bit mask of R_* flags


def heuristic_confidence(evidence: Evidence) -> FloatArray:
    """How much to trust S_total: coverage of known signals times timeframe agreement.

    Without a known anchor timeframe the lower ones cannot be confirmed: confidence 0.
    """
    anchored = np.isfinite(evidence.anchor_score)
    value = np.sqrt(evidence.coverage) * (0.5 + 0.5 * evidence.alignment)
    return np.where(anchored, np.clip(value, 0.0, 1.0), 0.0)


def run_heuristic(evidence: Evidence, config: EngineConfig) -> HeuristicColumns:
    """BUY when S_total clears the buy threshold with enough confidence and every filter
    passes; WATCH above the watch threshold; SKIP otherwise or on any failed filter."""
    score = evidence.total
    confidence = heuristic_confidence(evidence)
    failed = evidence.filter_failed.any(axis=0)
    unknown = evidence.filter_unknown.any(axis=0)
    confident = confidence >= config.heuristic_min_confidence
    buy = (score >= config.heuristic_buy_score) & confident
    watch = score >= config.heuristic_watch_score
    verdict = np.where(buy, VERDICT_BUY, np.where(watch, VERDICT_WATCH, VERDICT_SKIP))
    if config.unknown_filter_blocks_buy:
        verdict = np.where(unknown & (verdict == VERDICT_BUY), VERDICT_WATCH, verdict)
    verdict = np.where(failed, VERDICT_SKIP, verdict)
    reasons = (
        R_FILTER_FAILED * failed
        + R_FILTER_UNKNOWN * unknown
        + R_LOW_CONFIDENCE * ((score >= config.heuristic_buy_score) & ~confident)
        + R_BELOW_WATCH * (score < config.heuristic_watch_score)
        + R_NO_ANCHOR * ~np.isfinite(evidence.anchor_score)
    )
    return HeuristicColumns(verdict.astype(np.int64), score, confidence, reasons.astype(np.int64))
