"""Resampling of intraday bars into M30, H1, H4, D, W and M with NYSE session boundaries."""

from typing import Literal

import numpy.typing as npt

from signal_kernels._results import ResampledBars

TIMEFRAMES: dict[str, int]

def resample_bars(
    timestamps: npt.ArrayLike,
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeframe: Literal["M30", "H1", "H4", "D", "W", "M"],
) -> ResampledBars:
    """Aggregate regular-session bars (UTC epoch ns starts) into one bar per bucket."""
