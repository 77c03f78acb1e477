"""Moving-average stack alignment."""

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

def ma_stack_alignment(
    close: npt.ArrayLike,
    periods: Sequence[int] = (10, 20, 50, 100, 200),
    kind: Literal["sma", "ema"] = "sma",
) -> npt.NDArray[np.float64]:
    """Per-bar stack order in [-1, 1]: +1 every shorter MA above every longer one."""
