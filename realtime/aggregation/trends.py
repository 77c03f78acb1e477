"""Trend windows: recency-decayed, layer-weighted net direction with contradiction detection.

Pure functions over WeightedSignals so they can be tested and replayed without I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stonks.models.enums import Direction
from stonks.weighted_signals import SignalLayer, WeightedSignal

#: Window label → (length, decay half-life).
WINDOWS: Mapping[str, tuple[timedelta, timedelta]] = {
    "1d": (timedelta(days=1), timedelta(hours=6)),
    "7d": (timedelta(days=7), timedelta(days=2)),
    "30d": (timedelta(days=30), timedelta(days=7)),
}
LAYER_WEIGHTS: Mapping[SignalLayer, float] = {
    SignalLayer.COMPANY: 1.0,
    SignalLayer.MACRO: 0.6,
    SignalLayer.COMPETITIVE: 0.4,
}
DIRECTION_THRESHOLD = 0.15
STRONG_SIGNAL = 0.4  # |direction| * weight * confidence at or above this counts as strong
CONTRADICTION_FLAG = 0.5  # weaker side / stronger side among strong signals
MASS_FOR_FULL_CONFIDENCE = 2.0


@dataclass(frozen=True)
class TrendWindowState:
    """One computed window of one ticker."""

    window_label: str
    score: float
    direction: Direction
    confidence: float
    signal_count: int
    layer_scores: dict[str, float]
    contradiction: bool
    contradiction_score: float
    last_signal_at: datetime | None
    signal_ids: list[tuple[str, int]] = field(default_factory=list)


def _direction(score: float) -> Direction:
    if score >= DIRECTION_THRESHOLD:
        return Direction.BULLISH
    if score <= -DIRECTION_THRESHOLD:
        return Direction.BEARISH
    return Direction.NEUTRAL


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def compute_window(
    signals: Sequence[WeightedSignal], as_of: datetime, label: str,
    length: timedelta, half_life: timedelta,
    layer_weights: Mapping[SignalLayer, float] = LAYER_WEIGHTS,
) -> TrendWindowState:
    """The window ``label`` as of ``as_of`` (signals after ``as_of`` are ignored)."""
    start = as_of - length
    net = mass = 0.0
    bull = bear = 0.0
    per_layer: dict[str, list[float]] = {}
    used: list[tuple[str, int]] = []
    last: datetime | None = None
    for signal in signals:
        if not start <= signal.event_time <= as_of:
            continue
        age = (as_of - signal.event_time).total_seconds()
        decay = 0.5 ** (age / half_life.total_seconds())
        w = layer_weights.get(signal.layer, 0.0) * decay
        strength = signal.weight * signal.confidence
        net += w * signal.direction * strength
        mass += w * strength
        layer = per_layer.setdefault(signal.layer.value, [0.0, 0.0])
        layer[0] += w * signal.direction * strength
        layer[1] += w * strength
        if abs(signal.signed_strength) >= STRONG_SIGNAL:
            if signal.direction > 0:
                bull += abs(signal.signed_strength) * decay
            elif signal.direction < 0:
                bear += abs(signal.signed_strength) * decay
        used.append((signal.provenance.table, signal.provenance.record_id))
        last = signal.event_time if last is None or signal.event_time > last else last
    score = _clamp(net / mass, -1.0, 1.0) if mass > 0 else 0.0
    contradiction_score = min(bull, bear) / max(bull, bear) if min(bull, bear) > 0 else 0.0
    contradiction = contradiction_score >= CONTRADICTION_FLAG
    confidence = min(1.0, mass / MASS_FOR_FULL_CONFIDENCE) * (1.0 - 0.5 * contradiction_score)
    return TrendWindowState(
        window_label=label,
        score=score,
        direction=_direction(score),
        confidence=_clamp(confidence, 0.0, 1.0),
        signal_count=len(used),
        layer_scores={k: (v[0] / v[1] if v[1] > 0 else 0.0) for k, v in per_layer.items()},
        contradiction=contradiction,
        contradiction_score=_clamp(contradiction_score, 0.0, 1.0),
        last_signal_at=last,
        signal_ids=used,
    )


def compute_windows(
    signals: Sequence[WeightedSignal], as_of: datetime,
    windows: Mapping[str, tuple[timedelta, timedelta]] = WINDOWS,
) -> list[TrendWindowState]:
    """Every configured window of one ticker as of ``as_of``."""
    return [compute_window(signals, as_of, label, length, half_life)
            for label, (length, half_life) in windows.items()]


def project(
    window: TrendWindowState, horizon: timedelta, half_life: timedelta
) -> tuple[float, float]:
    """Score and confidence expected after ``horizon`` if no new signal arrives.

    Without new information a trend decays with its window's half-life; confidence decays
    with it, which is what a desk reads as "this view is getting stale".
    """
    factor = 0.5 ** (horizon.total_seconds() / half_life.total_seconds())
    return _clamp(window.score * factor, -1.0, 1.0), _clamp(window.confidence * factor, 0, 1)


def decay_factor(age: timedelta, half_life: timedelta) -> float:
    return math.pow(0.5, age.total_seconds() / half_life.total_seconds())
