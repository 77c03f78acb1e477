"""Exit engine: stop-loss (structure or ATR), targets (Fibonacci extensions or R multiples),
and a trailing ATR (chandelier) stop, for a long entry at the daily close."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import FloatArray
from realtime.signal_engine.features import TimeframeFeatures
from realtime.signal_engine.signals.fibonacci import last_swing

STRUCTURE_BUFFER_ATR = 0.25  # below the swing low, so a wick to the level does not stop out
MIN_STRUCTURE_RISK_ATR = 0.5  # a structure stop tighter than this is noise-stopped
MAX_STRUCTURE_RISK_ATR = 3.0  # wider than this the position gets too small; use ATR instead


@dataclass(frozen=True, slots=True, eq=False)
class ExitColumns:
    """Exit levels per ticker; NaN everywhere for a ticker without daily bars or ATR."""

    entry: FloatArray
    stop: FloatArray
    structure_stop: np.ndarray  # True where the stop sits below the last swing low
    targets: FloatArray  # (n, k) ascending
    fib_targets: np.ndarray  # True where the targets are Fibonacci extensions
    trailing_stop: FloatArray
    atr: FloatArray

    @property
    def known(self) -> np.ndarray:
        return np.asarray(np.isfinite(self.stop) & np.isfinite(self.targets[:, 0]))

    @property
    def reward_r(self) -> FloatArray:
        """First target's distance from entry in R (the payoff ratio); NaN when unknown."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((self.targets[:, 0] - self.entry) / (self.entry - self.stop))


def plan_exits(daily: TimeframeFeatures, config: EngineConfig) -> ExitColumns:
    """Stops and targets from the daily timeframe's pivots and ATR."""
    entry = np.where(daily.available, daily.close, np.nan)
    atr = daily.atr
    with np.errstate(invalid="ignore"):
        below = (daily.pivot_kind == -1) & (daily.pivot_price < entry[:, None])
    # Newest qualifying swing low: the last True slot along the pivot axis.
    slots = daily.pivot_price.shape[1]
    newest = slots - 1 - np.argmax(below[:, ::-1], axis=1)
    swing_low = np.where(below.any(axis=1), daily.pivot_price[np.arange(len(entry)), newest],
                         np.nan)
    structure = swing_low - STRUCTURE_BUFFER_ATR * atr
    with np.errstate(invalid="ignore"):
        risk_atr = (entry - structure) / atr
        use_structure = (risk_atr >= MIN_STRUCTURE_RISK_ATR) & (risk_atr <= MAX_STRUCTURE_RISK_ATR)
    stop = np.where(use_structure, structure, entry - config.atr_stop_multiple * atr)
    risk = entry - stop

    _, _, direction = last_swing(daily)
    k = len(config.r_targets)
    r_targets = entry[:, None] + risk[:, None] * np.array(config.r_targets)[None, :]
    # signal_kernels' extensions of the last up swing (low -> high), when the first k lie
    # at least 1R above entry.
    fib = daily.fib_extensions[:, :k]
    with np.errstate(invalid="ignore"):
        fib_ok = (direction == 1) & np.all(fib >= (entry + risk)[:, None], axis=1)
    fib_ok &= fib.shape[1] == k
    targets = np.where(fib_ok[:, None], fib, r_targets)
    trailing = daily.recent_high - config.trailing_atr_multiple * atr
    bad = ~(np.isfinite(entry) & np.isfinite(atr) & (atr > 0))
    targets[bad] = np.nan
    return ExitColumns(
        entry=entry,
        stop=np.where(bad, np.nan, stop),
        structure_stop=use_structure & ~bad,
        targets=np.sort(targets, axis=1),
        fib_targets=fib_ok & ~bad,
        trailing_stop=np.where(bad, np.nan, trailing),
        atr=atr,
    )
