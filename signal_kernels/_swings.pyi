"""Swing pivots (zigzag) and Fibonacci levels of the last swing."""

import numpy.typing as npt

from signal_kernels._results import FibonacciLevels, Pivots

RETRACEMENT_RATIOS: tuple[float, ...]
EXTENSION_RATIOS: tuple[float, ...]

def zigzag(
    high: npt.ArrayLike,
    low: npt.ArrayLike | None = None,
    *,
    threshold_pct: float | None = None,
    atr_multiple: float | None = None,
    close: npt.ArrayLike | None = None,
    atr_period: int = 14,
) -> Pivots:
    """Alternating swing highs/lows separated by a minimum reversal (percent or ATR)."""

def fibonacci_levels(pivots: Pivots, *, confirmed_only: bool = True) -> FibonacciLevels | None:
    """Retracement and extension levels of the last swing between two pivots."""
