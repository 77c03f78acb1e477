"""Structure through ``signal_kernels``: moving averages, swings, Fibonacci, patterns.

The indicators come from one batch call per timeframe (see ``features``). The structure -
zigzag pivots, Fibonacci levels, Elliott counts, cup & handle, the moving averages of the
stack - is packed into one float row per ticker, so a timeframe's rows stack into a
``(n_tickers, ROW_WIDTH)`` matrix and the signals stay vectorised across tickers.
``structure_rows`` fills the rows of many tickers at once: pivots and moving averages
through the batch kernels (``zigzag_batch``, ``last_sma_batch``), Elliott/Fibonacci through
the ``SwingCache`` and cup & handle per series. ``structure_row`` is the same row for one
series through the single-series kernels; the two agree bit for bit (tested). ``features``
only recomputes the rows of tickers whose bars changed since the previous tick.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from realtime.signal_engine.contracts import FloatArray
from signal_kernels import (
    ElliottWave,
    FibonacciLevels,
    Pivots,
    ZigzagBatchOutputs,
    allocate_zigzag_outputs,
    elliott_wave,
    fibonacci_levels,
    find_cup_and_handle,
    last_sma_batch,
    rolling_max,
    sma,
    zigzag,
    zigzag_batch,
)

MA_PERIODS = (10, 20, 50, 100, 200)
#: The stack's averages computed here; SMA20 and SMA50 come from the batch call.
SERIES_MA_PERIODS = ((0, 10), (3, 100), (4, 200))
ATR_PERIOD = 14
ZIGZAG_ATR_MULTIPLE = 2.0
TRAIL_LOOKBACK = 22  # chandelier exit: highest high of about a month of bars
#: Closes the cup & handle detector scans; a base older than this is no longer actionable.
CUP_WINDOW = 60
CUP_MIN_BARS = 20
#: A base counts while its handle is still forming or broke out at most this many bars ago.
CUP_RECENT_BARS = 3
#: Confirmed pivots kept per series (a five-wave impulse plus its start, and one more).
PIVOT_SLOTS = 8
#: Elliott counts read at most the last seven confirmed pivots (see signal_kernels).
ELLIOTT_PIVOTS = 7
FIB_EXTENSIONS = 5  # signal_kernels' extension ratios: 1.272, 1.414, 1.618, 2.0, 2.618

# Row layout.
MA = 0
PIVOT_PRICE = MA + len(MA_PERIODS)
PIVOT_KIND = PIVOT_PRICE + PIVOT_SLOTS
LEG_EXTREME = PIVOT_KIND + PIVOT_SLOTS
LEG_DIRECTION = LEG_EXTREME + 1
CUP_QUALITY = LEG_DIRECTION + 1
CUP_RIM = CUP_QUALITY + 1
# FIB_LOW .. ELLIOTT_CONFIDENCE are contiguous: one SwingCache entry fills them.
FIB_LOW = CUP_RIM + 1
FIB_HIGH = FIB_LOW + 1
FIB_DIRECTION = FIB_HIGH + 1
FIB_EXTENSION = FIB_DIRECTION + 1
ELLIOTT_WAVE = FIB_EXTENSION + FIB_EXTENSIONS
ELLIOTT_CONFIDENCE = ELLIOTT_WAVE + 1
RECENT_HIGH = ELLIOTT_CONFIDENCE + 1
ROW_WIDTH = RECENT_HIGH + 1

#: Row of a ticker without enough bars: everything unknown, no pivots, no pattern count.
EMPTY_ROW = np.full(ROW_WIDTH, np.nan)
EMPTY_ROW[PIVOT_KIND : PIVOT_KIND + PIVOT_SLOTS] = 0.0
EMPTY_ROW[[LEG_DIRECTION, FIB_DIRECTION, ELLIOTT_WAVE, ELLIOTT_CONFIDENCE]] = 0.0
EMPTY_ROW.flags.writeable = False

_SWING_CACHE_LIMIT = 100_000


class SwingCache:
    """Elliott counts and Fibonacci levels keyed by the confirmed pivots they read.

    Both depend only on the last confirmed pivot prices, which change only when a new pivot
    confirms (or the window drops an old one), so a tick with a new bar usually reuses them.
    The key is the prices themselves: a hit is exactly the result a recomputation gives.
    """

    def __init__(self) -> None:
        self._entries: dict[bytes, FloatArray] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: bytes) -> FloatArray | None:
        return self._entries.get(key)

    def store(self, key: bytes, values: FloatArray) -> None:
        if len(self._entries) >= _SWING_CACHE_LIMIT:
            self._entries.clear()  # bounded memory; a miss only costs a recomputation
        self._entries[key] = values


def structure_row(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    row: FloatArray,
    swings: SwingCache | None = None,
    *,
    trailing_high: bool = True,
) -> None:
    """Write the structure of one series into ``row`` (which must hold ``EMPTY_ROW``).

    The series are contiguous, without leading NaN, at least ATR_PERIOD+1 bars long, and
    nothing but these bars is read. ``trailing_high=False`` skips the trailing-stop high
    (only the daily timeframe's exits read it).
    """
    n = close.shape[0]
    for j, period in SERIES_MA_PERIODS:
        if period <= n:
            row[MA + j] = sma(close[n - period :], period)[-1]
    if trailing_high:
        lookback = min(TRAIL_LOOKBACK, n)
        row[RECENT_HIGH] = rolling_max(high[n - lookback :], lookback)[-1]
    _cup_and_handle(close[n - CUP_WINDOW :] if n > CUP_WINDOW else close, row)

    pivots = zigzag(high, low, atr_multiple=ZIGZAG_ATR_MULTIPLE, close=close,
                    atr_period=ATR_PERIOD)
    prices = pivots.price
    m = prices.shape[0]
    if m and not pivots.confirmed[m - 1]:
        # The running extreme of the swing in progress: +1 while price is making highs.
        m -= 1
        row[LEG_EXTREME] = prices[m]
        row[LEG_DIRECTION] = pivots.kind[m]
    if m == 0:
        return
    kept = m if m < PIVOT_SLOTS else PIVOT_SLOTS
    row[PIVOT_KIND - kept : PIVOT_KIND] = prices[m - kept : m]
    row[LEG_EXTREME - kept : LEG_EXTREME] = pivots.kind[m - kept : m]
    if m < 2:
        return
    key = prices[m - ELLIOTT_PIVOTS if m > ELLIOTT_PIVOTS else 0 : m].tobytes()
    found = swings.lookup(key) if swings is not None else None
    if found is None:
        found = np.array(_swing_values(pivots))
        found.flags.writeable = False
        if swings is not None:
            swings.store(key, found)
    row[FIB_LOW:RECENT_HIGH] = found


def _cup_and_handle(recent: FloatArray, row: FloatArray) -> None:
    """Quality and rim of the newest cup & handle base in ``recent``: the last CUP_WINDOW
    closes of a series (all of them if it is shorter), no leading NaN."""
    if recent.shape[0] >= CUP_MIN_BARS + 3:  # shorter: unknown, not "no pattern"
        bases = find_cup_and_handle(recent, min_cup_bars=CUP_MIN_BARS,
                                    max_cup_bars=recent.shape[0] - 3)
        # The newest base counts while its handle forms or it broke out a few bars ago.
        if bases and bases[-1].handle_end >= recent.shape[0] - 1 - CUP_RECENT_BARS:
            row[CUP_QUALITY] = bases[-1].quality
            row[CUP_RIM] = bases[-1].breakout_level
        else:
            row[CUP_QUALITY] = 0.0


class StructureBuffers:
    """Reusable kernel outputs for ``structure_rows`` (one per timeframe: not shared)."""

    def __init__(self) -> None:
        self._zigzag: ZigzagBatchOutputs | None = None
        self._means: FloatArray | None = None

    def zigzag(self, n_series: int) -> ZigzagBatchOutputs:
        if self._zigzag is None or self._zigzag.n_series != n_series:
            # One slot more than the row keeps: the running extreme of the swing in progress.
            self._zigzag = allocate_zigzag_outputs(n_series, PIVOT_SLOTS + 1)
        return self._zigzag

    def means(self, n_periods: int, n_series: int) -> FloatArray:
        if self._means is None or self._means.shape != (n_periods, n_series):
            self._means = np.empty((n_periods, n_series))
        return self._means


def structure_rows(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    lengths: npt.NDArray[np.int64],
    series: npt.NDArray[np.intp],
    buffers: StructureBuffers,
    swings: SwingCache | None = None,
    *,
    trailing_high: bool = True,
) -> FloatArray:
    """The structure rows ``(len(series), ROW_WIDTH)`` of some columns of bars-major panels.

    Column s holds its ``lengths[s]`` bars in its last rows (nothing above them is read);
    ``series`` picks the columns, each with at least ATR_PERIOD+1 bars. Each row equals
    what ``structure_row`` writes for that column's bars.
    """
    n_bars = close.shape[0]
    k = series.shape[0]
    rows = np.empty((k, ROW_WIDTH))
    rows[:] = EMPTY_ROW
    # The kernels run over every column (a few µs each, no Python per series); the rows
    # take the picked ones.
    all_series = close.shape[1]
    periods = [(j, p) for j, p in SERIES_MA_PERIODS if p <= n_bars]
    if periods:
        means = last_sma_batch(close, [p for _, p in periods],
                               buffers.means(len(periods), all_series), lengths=lengths)
        for i, (j, _) in enumerate(periods):
            rows[:, MA + j] = means[i, series]
    zz = zigzag_batch(high, low, close, buffers.zigzag(all_series),
                      atr_multiple=ZIGZAG_ATR_MULTIPLE, atr_period=ATR_PERIOD, lengths=lengths)
    price, kind = zz.price[series], zz.kind[series]
    # zigzag confirms every pivot but the newest (the running extreme of the swing in
    # progress), so the last slot is the leg and the PIVOT_SLOTS before it are confirmed.
    rows[:, PIVOT_PRICE : PIVOT_PRICE + PIVOT_SLOTS] = price[:, :PIVOT_SLOTS]
    rows[:, PIVOT_KIND : PIVOT_KIND + PIVOT_SLOTS] = kind[:, :PIVOT_SLOTS]
    rows[:, LEG_EXTREME] = price[:, PIVOT_SLOTS]
    rows[:, LEG_DIRECTION] = kind[:, PIVOT_SLOTS]

    tail = min(CUP_WINDOW, n_bars)
    closes = np.ascontiguousarray(close[n_bars - tail :, series].T)  # contiguous per ticker
    sizes = lengths[series]
    if trailing_high:
        for i, size in enumerate(sizes.tolist()):
            lookback = min(TRAIL_LOOKBACK, size)
            rows[i, RECENT_HIGH] = rolling_max(high[n_bars - lookback :, series[i]],
                                               lookback)[-1]
    starts = (tail - np.minimum(sizes, tail)).tolist()
    confirmed_counts = (zz.count[series] - 1).tolist()
    for i in range(k):
        _cup_and_handle(closes[i, starts[i] :], rows[i])
        m = confirmed_counts[i]
        if m < 2:
            continue
        key = price[i, PIVOT_SLOTS - min(m, ELLIOTT_PIVOTS) : PIVOT_SLOTS].tobytes()
        found = swings.lookup(key) if swings is not None else None
        if found is None:
            found = _swing_values_of_slots(zz, int(series[i]), min(m, PIVOT_SLOTS))
            if swings is not None:
                swings.store(key, found)
        rows[i, FIB_LOW:RECENT_HIGH] = found
    return rows


def _swing_values_of_slots(zz: ZigzagBatchOutputs, s: int, confirmed: int) -> FloatArray:
    """``_swing_values`` of series s from its kept pivots (the ``confirmed`` newest
    confirmed ones and the running extreme: all that Fibonacci and Elliott read)."""
    first = PIVOT_SLOTS - confirmed
    found = np.array(_swing_values(Pivots(
        index=zz.index[s, first:], price=zz.price[s, first:], kind=zz.kind[s, first:],
        confirmed=zz.confirmed[s, first:],
    )))
    found.flags.writeable = False
    return found


def _swing_values(pivots: Pivots) -> tuple[float, ...]:
    """(fib low, high, direction, 5 extensions, elliott signed wave, confidence) from the
    confirmed pivots only, so the values cannot move with the swing still in progress."""
    fib: FibonacciLevels | None = fibonacci_levels(pivots, confirmed_only=True)
    if fib is None:
        fib_values = (np.nan, np.nan, 0.0) + (np.nan,) * FIB_EXTENSIONS
    else:
        extensions = [fib.extensions[r] for r in sorted(fib.extensions)][:FIB_EXTENSIONS]
        extensions += [np.nan] * (FIB_EXTENSIONS - len(extensions))
        fib_values = (min(fib.start_price, fib.end_price), max(fib.start_price, fib.end_price),
                      float(fib.direction), *extensions)
    wave: ElliottWave | None = elliott_wave(pivots, include_unconfirmed=False)
    if wave is None:
        return (*fib_values, 0.0, 0.0)
    # +1..+5: the wave in progress of a rising impulse; +6: the impulse is complete (a
    # correction is due). Falling impulses are the negatives.
    position = 6 if wave.complete else wave.wave
    return (*fib_values, float(wave.direction * position), wave.confidence)
