"""True range, ATR (Wilder) and Bollinger bands with TA-Lib's semantics."""

import numpy as np
import numpy.typing as npt

def true_range(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """max(high-low, |high-prev close|, |low-prev close|); the first bar is NaN."""

def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> npt.NDArray[np.float64]:
    """Average true range, Wilder smoothing, first value at index `period`."""

def bbands(
    x: npt.ArrayLike, period: int = 20, nbdev: float = 2.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(upper, middle, lower): SMA middle band +- nbdev population deviations."""
