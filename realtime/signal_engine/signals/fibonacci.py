"""Fibonacci: where price sits against the retracement levels of the last confirmed swing."""

from __future__ import annotations

import numpy as np

from realtime.signal_engine.features import TimeframeFeatures
from realtime.signal_engine.signals.reading import SignalReading

RETRACEMENT_LEVELS = (0.236, 0.382, 0.5, 0.618, 0.786)

# Retracement of the swing (0 = at the swing's end, 1 = back at its start) -> signed value
# in the swing's direction. A pullback into 38.2-61.8 % is the classic continuation entry;
# beyond 78.6 % the swing is failing, and past 100 % it has failed.
_RATIO_POINTS = np.array([-0.5, 0.0, 0.236, 0.382, 0.5, 0.618, 0.786, 1.0, 1.5])
_VALUE_POINTS = np.array([0.5, 0.45, 0.55, 0.8, 0.9, 1.0, 0.3, -0.5, -1.0])


def last_swing(features: TimeframeFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(swing_low, swing_high, direction)`` of the last confirmed swing per ticker.

    From ``signal_kernels.fibonacci_levels`` over the confirmed pivots: direction is +1 when
    the swing rose (low then high), -1 when it fell, 0 when the ticker has fewer than two
    confirmed pivots.
    """
    return features.swing_low, features.swing_high, features.swing_direction


def fibonacci_signal(features: TimeframeFeatures) -> SignalReading:
    """Signed by the swing's direction: a healthy pullback in an up swing is bullish."""
    low, high, direction = last_swing(features)
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        retracement = np.where(
            direction == 1, (high - features.close) / span, (features.close - low) / span
        )
    curve = np.interp(np.nan_to_num(retracement), _RATIO_POINTS, _VALUE_POINTS)
    known = features.available & (direction != 0) & (span > 0) & np.isfinite(retracement)
    return SignalReading.of(
        curve * direction,
        known,
        swing_low=low,
        swing_high=high,
        swing_direction=direction.astype(np.float64),
        retracement=retracement,
    )
