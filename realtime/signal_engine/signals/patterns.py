"""Pattern signals: cup & handle (bullish continuation) and the Elliott wave position."""

from __future__ import annotations

import numpy as np

from realtime.signal_engine.features import TimeframeFeatures
from realtime.signal_engine.signals.reading import SignalReading

# Signed wave (see structure._swing_values) -> value. Inside a rising impulse,
# wave 3 is the strongest leg; wave 2 and 4 pullbacks are entries; wave 5 is late; after a
# completed five-wave impulse a correction is due. Falling impulses mirror it.
_WAVE_VALUES = {0: 0.0, 1: 0.3, 2: 0.5, 3: 1.0, 4: 0.6, 5: 0.3, 6: -0.6}


def cup_handle_signal(features: TimeframeFeatures) -> SignalReading:
    """Bullish with the pattern's quality; a close above the rim (breakout) counts fully.

    The pattern is one-sided: its absence is a known 0 (no pattern), not a bearish vote.
    """
    breakout = features.close > features.cup_rim
    value = features.cup_quality * np.where(breakout, 1.0, 0.7)
    known = features.available & np.isfinite(features.cup_quality)
    return SignalReading.of(
        value, known, quality=features.cup_quality, rim=features.cup_rim,
        breakout=breakout.astype(np.float64),
    )


def elliott_signal(features: TimeframeFeatures) -> SignalReading:
    """The current wave's value scaled by the count's confidence."""
    wave = features.elliott_wave
    magnitude = np.array([_WAVE_VALUES[int(abs(w))] for w in range(7)])[np.abs(wave)]
    value = np.sign(wave) * magnitude * features.elliott_confidence
    return SignalReading.of(
        value, features.available.copy(), wave=wave.astype(np.float64),
        confidence=features.elliott_confidence,
    )
