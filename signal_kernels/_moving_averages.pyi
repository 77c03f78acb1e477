"""SMA, EMA and MACD with TA-Lib's lookbacks, seeding and NaN padding."""

import numpy as np
import numpy.typing as npt

def sma(x: npt.ArrayLike, period: int) -> npt.NDArray[np.float64]:
    """Simple moving average; NaN for the first period-1 bars."""

def ema(x: npt.ArrayLike, period: int) -> npt.NDArray[np.float64]:
    """EMA with k = 2/(period+1), seeded with the SMA of the first `period` values."""

def macd(
    x: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(macd, signal, histogram); all start at index (slow-1)+(signal-1)."""
