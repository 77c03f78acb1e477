"""All six indicators for many series in one call, into caller-owned buffers."""

import numpy as np
import numpy.typing as npt

from signal_kernels._results import IndicatorSet

OUTPUT_NAMES: tuple[str, ...]

class BatchOutputs:
    """Caller-owned (n_bars, n_series) float64 output arrays for `batch_indicators`."""

    @property
    def sma(self) -> npt.NDArray[np.float64]: ...
    @property
    def ema(self) -> npt.NDArray[np.float64]: ...
    @property
    def rsi(self) -> npt.NDArray[np.float64]: ...
    @property
    def atr(self) -> npt.NDArray[np.float64]: ...
    @property
    def macd(self) -> npt.NDArray[np.float64]: ...
    @property
    def macd_signal(self) -> npt.NDArray[np.float64]: ...
    @property
    def macd_hist(self) -> npt.NDArray[np.float64]: ...
    @property
    def bb_upper(self) -> npt.NDArray[np.float64]: ...
    @property
    def bb_middle(self) -> npt.NDArray[np.float64]: ...
    @property
    def bb_lower(self) -> npt.NDArray[np.float64]: ...
    @property
    def n_bars(self) -> int: ...
    @property
    def n_series(self) -> int: ...
    def __init__(
        self,
        *,
        sma: npt.NDArray[np.float64],
        ema: npt.NDArray[np.float64],
        rsi: npt.NDArray[np.float64],
        atr: npt.NDArray[np.float64],
        macd: npt.NDArray[np.float64],
        macd_signal: npt.NDArray[np.float64],
        macd_hist: npt.NDArray[np.float64],
        bb_upper: npt.NDArray[np.float64],
        bb_middle: npt.NDArray[np.float64],
        bb_lower: npt.NDArray[np.float64],
    ) -> None: ...

def allocate_batch_outputs(n_bars: int, n_series: int) -> BatchOutputs:
    """Reusable outputs for inputs of shape (n_bars, n_series)."""

def batch_indicators(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    out: BatchOutputs,
    *,
    sma_period: int = 20,
    ema_period: int = 20,
    rsi_period: int = 14,
    atr_period: int = 14,
    macd_fast: int = 12,
    macd_slow: int = 26,
    macd_signal: int = 9,
    bb_period: int = 20,
    bb_nbdev: float = 2.0,
) -> BatchOutputs:
    """Six indicators for (n_bars, n_series) bars-major inputs, written into `out`."""

def indicators_all(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    out: IndicatorSet | None = None,
    sma_period: int = 20,
    ema_period: int = 20,
    rsi_period: int = 14,
    atr_period: int = 14,
    macd_fast: int = 12,
    macd_slow: int = 26,
    macd_signal: int = 9,
    bb_period: int = 20,
    bb_nbdev: float = 2.0,
) -> IndicatorSet:
    """All six indicators of one series in one call (into `out` when given)."""
