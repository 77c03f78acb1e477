"""Signal kernels: the numeric core of the real-time tier, as pure functions over arrays.

Indicators with TA-Lib's semantics (lookbacks, NaN padding, seeding), rolling building
blocks, swing pivots and Fibonacci levels, moving-average stack alignment, session-aware
bar resampling, chart-pattern detectors and a batch API for many series at once
(``batch_indicators``; ``zigzag_batch`` and ``last_sma_batch`` for swing pivots and
moving-average stacks). Compiled
with Cython; no I/O, no logging.

Conventions shared by every function taking price arrays:

* Inputs may be any 1-D numeric sequence (int, float32, lists...); they are converted to
  contiguous float64 once at the boundary. Non-numeric dtypes raise TypeError.
* A period below the function's minimum, or longer than the data, raises ValueError.
* Outputs have the input's length; bars before the first computable one are NaN. As in
  TA-Lib's Python wrapper, leading NaNs are skipped (the lookback counts from the first
  non-NaN bar); a NaN or inf inside the data propagates as it does in TA-Lib 0.8.
"""

from signal_kernels._batch import (
    BatchOutputs,
    allocate_batch_outputs,
    batch_indicators,
    indicators_all,
)
from signal_kernels._momentum import rsi
from signal_kernels._moving_averages import ema, macd, sma
from signal_kernels._patterns import elliott_wave, find_cup_and_handle, impulse_rule_violations
from signal_kernels._resample import resample_bars
from signal_kernels._results import (
    CupAndHandle,
    ElliottWave,
    FibonacciLevels,
    IndicatorSet,
    Pivots,
    ResampledBars,
)
from signal_kernels._rolling import rolling_max, rolling_min, rolling_std
from signal_kernels._swings import fibonacci_levels, zigzag
from signal_kernels._swings_batch import (
    ZigzagBatchOutputs,
    allocate_zigzag_outputs,
    last_sma_batch,
    zigzag_batch,
)
from signal_kernels._trend import ma_stack_alignment
from signal_kernels._volatility import atr, bbands, true_range

__all__ = [
    "BatchOutputs",
    "CupAndHandle",
    "ElliottWave",
    "FibonacciLevels",
    "IndicatorSet",
    "Pivots",
    "ResampledBars",
    "ZigzagBatchOutputs",
    "allocate_batch_outputs",
    "allocate_zigzag_outputs",
    "atr",
    "batch_indicators",
    "bbands",
    "elliott_wave",
    "ema",
    "fibonacci_levels",
    "find_cup_and_handle",
    "impulse_rule_violations",
    "indicators_all",
    "last_sma_batch",
    "ma_stack_alignment",
    "macd",
    "resample_bars",
    "rolling_max",
    "rolling_min",
    "rolling_std",
    "rsi",
    "sma",
    "true_range",
    "zigzag",
    "zigzag_batch",
]
