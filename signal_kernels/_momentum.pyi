"""Relative strength index with TA-Lib's (Wilder) smoothing."""

import numpy as np
import numpy.typing as npt

def rsi(x: npt.ArrayLike, period: int = 14) -> npt.NDArray[np.float64]:
    """RSI in [0, 100], first value at index `period` (period >= 2)."""
