"""Rolling standard deviation (numerically stable), rolling max and rolling min."""

import numpy as np
import numpy.typing as npt

def rolling_std(x: npt.ArrayLike, period: int, ddof: int = 0) -> npt.NDArray[np.float64]:
    """Deviation of each window (population for ddof=0); NaN while it holds a NaN/inf."""

def rolling_max(x: npt.ArrayLike, period: int) -> npt.NDArray[np.float64]:
    """Highest value of each window; NaN while the window holds a NaN."""

def rolling_min(x: npt.ArrayLike, period: int) -> npt.NDArray[np.float64]:
    """Lowest value of each window; NaN while the window holds a NaN."""
