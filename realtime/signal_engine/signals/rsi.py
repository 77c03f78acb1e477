"""RSI: momentum regime of the last value, plus bullish and bearish divergences."""

from __future__ import annotations

import numpy as np

from realtime.signal_engine.features import TimeframeFeatures
from realtime.signal_engine.signals.reading import SignalReading

# RSI -> regime value. 50-70 is a bull regime; above 70 momentum is stretched (still bullish
# but fading); 30-50 bearish; deep oversold (< 20) leans to a bounce.
_RSI_POINTS = np.array([0.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 100.0])
_REGIME_VALUES = np.array([0.3, 0.0, -0.4, -0.5, 0.0, 0.6, 0.8, 0.4, 0.0])
DIVERGENCE_WEIGHT = 0.6
RECENT = 10  # bars of the recent extreme; the prior one is looked for before them
MIN_RSI_GAP = 3.0


def rsi_signal(features: TimeframeFeatures) -> SignalReading:
    """Regime value plus/minus the divergence weight, clipped to [-1, 1].

    Bullish divergence: price made a lower low in the last ``RECENT`` bars than in the bars
    before, while RSI made a higher low. Bearish divergence is the mirror on highs.
    """
    rsi, close = features.rsi_tail, features.close_tail
    last = rsi[-1]
    regime = np.interp(np.nan_to_num(last, nan=50.0), _RSI_POINTS, _REGIME_VALUES)
    bullish, bearish = _divergences(rsi, close)
    value = regime + DIVERGENCE_WEIGHT * (bullish.astype(np.float64) - bearish)
    known = features.available & np.isfinite(last)
    return SignalReading.of(
        value,
        known,
        rsi=last,
        bullish_divergence=bullish.astype(np.float64),
        bearish_divergence=bearish.astype(np.float64),
    )


def _divergences(rsi: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if rsi.shape[0] <= RECENT + 5:
        none = np.zeros(rsi.shape[1], dtype=bool)
        return none, none
    filled_low = np.where(np.isfinite(close), close, np.inf)
    filled_high = np.where(np.isfinite(close), close, -np.inf)
    recent_low_at = np.argmin(filled_low[-RECENT:], axis=0) + rsi.shape[0] - RECENT
    prior_low_at = np.argmin(filled_low[:-RECENT], axis=0)
    recent_high_at = np.argmax(filled_high[-RECENT:], axis=0) + rsi.shape[0] - RECENT
    prior_high_at = np.argmax(filled_high[:-RECENT], axis=0)
    cols = np.arange(rsi.shape[1])
    with np.errstate(invalid="ignore"):
        bullish = (close[recent_low_at, cols] < close[prior_low_at, cols]) & (
            rsi[recent_low_at, cols] > rsi[prior_low_at, cols] + MIN_RSI_GAP
        )
        bearish = (close[recent_high_at, cols] > close[prior_high_at, cols]) & (
            rsi[recent_high_at, cols] < rsi[prior_high_at, cols] - MIN_RSI_GAP
        )
    return bullish, bearish
