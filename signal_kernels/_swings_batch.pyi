"""Swing pivots (zigzag by ATR multiple) and last-window means of many series in one call.

Inputs are bars-major ``(n_bars, n_series)`` arrays, the layout of ``batch_indicators``.
Every column's result is bit-for-bit the single-series function's; outputs go into
caller-owned buffers and the GIL is released while the kernels run.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

ZIGZAG_OUTPUT_NAMES: tuple[str, ...]

class ZigzagBatchOutputs:
    """Caller-owned buffers for `zigzag_batch`: the last `slots` pivots of every series.

    `index`, `price`, `kind`, `confirmed` are ``(n_series, slots)``, right-aligned: the
    newest pivot (the unconfirmed running extreme of the swing in progress) is in the last
    slot, older ones to its left. Unused slots hold index -1, price NaN, kind 0, confirmed
    False. `count` ``(n_series,)`` is each series' total number of pivots (may exceed
    `slots`). Scratch for the kernels is kept inside and grows only for longer panels.
    """

    @property
    def index(self) -> npt.NDArray[np.int64]:
        """Bar (row) index of each kept pivot, -1 for an unused slot."""
    @property
    def price(self) -> npt.NDArray[np.float64]:
        """Pivot price (a high for a swing high, a low for a swing low), NaN if unused."""
    @property
    def kind(self) -> npt.NDArray[np.int8]:
        """+1 swing high, -1 swing low, 0 unused slot."""
    @property
    def confirmed(self) -> npt.NDArray[np.bool_]:
        """True for confirmed pivots; the newest pivot of a series is never confirmed."""
    @property
    def count(self) -> npt.NDArray[np.int64]:
        """Total pivots per series, confirmed and not (what ``len(zigzag(...))`` gives)."""
    @property
    def n_series(self) -> int: ...
    @property
    def slots(self) -> int: ...
    def __init__(
        self,
        *,
        index: npt.NDArray[np.int64],
        price: npt.NDArray[np.float64],
        kind: npt.NDArray[np.int8],
        confirmed: npt.NDArray[np.bool_],
        count: npt.NDArray[np.int64],
    ) -> None:
        """Wrap C-contiguous writeable arrays: four ``(n_series, slots)`` of dtypes int64,
        float64, int8, bool and ``count`` ``(n_series,)`` int64 (checked here, once)."""

def allocate_zigzag_outputs(n_series: int, slots: int = 8) -> ZigzagBatchOutputs:
    """Reusable outputs keeping the last `slots` pivots of each of `n_series` series."""

def zigzag_batch(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    out: ZigzagBatchOutputs,
    *,
    atr_multiple: float,
    atr_period: int = 14,
    lengths: npt.ArrayLike | None = None,
) -> ZigzagBatchOutputs:
    """Swing pivots of every column of ``(n_bars, n_series)`` panels, written into `out`.

    For each column s, the kept pivots and `count` equal those of
    ``zigzag(high[:, s], low[:, s], atr_multiple=atr_multiple, close=close[:, s],
    atr_period=atr_period)``: the same ATR arithmetic, leading NaN skipped, NaN bars
    ignored. With `lengths`, column s is only its last ``lengths[s]`` bars (indices stay
    panel rows); a series of at most `atr_period` bars gets no confirmed pivot. Raises
    ValueError if `atr_multiple` is not > 0, `atr_period` is < 1 or longer than n_bars,
    the panels' shapes differ or n_series != out.n_series; TypeError for non-numeric
    input.
    """

def last_sma_batch(
    close: npt.ArrayLike,
    periods: Sequence[int] | npt.NDArray[np.integer],
    out: npt.NDArray[np.float64],
    *,
    lengths: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Last simple moving average of every column, for each period, into `out`.

    `close` is ``(n_bars, n_series)``; `out` a writeable C-contiguous float64
    ``(len(periods), n_series)`` array (returned). ``out[k, s]`` equals
    ``sma(close[n_bars - p:, s], p)[-1]`` for p = periods[k] bit for bit: the mean of the
    last p bars, summed oldest first; NaN if any of them is NaN. Each period in 1..n_bars.
    With `lengths`, a series with fewer than p bars gets NaN.
    """
