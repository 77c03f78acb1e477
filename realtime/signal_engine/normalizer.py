"""Input normalizer: turns whatever sources exist into per-timeframe panels and filter inputs.

Missing bars, valuation, macro bias or earnings dates become UNKNOWN (NaN in the panels
and filter arrays, named in ``unknown_inputs``), never zero. Only bars final at ``as_of``
are read, so a verdict computed at ``as_of`` cannot see the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from realtime.signal_engine.contracts import (
    TIMEFRAMES,
    UNKNOWN,
    Bars,
    TickerInputs,
    Timeframe,
    Valuation,
)
from realtime.signal_engine.features import MIN_PANEL_ROWS, Panel
from realtime.signal_engine.filters import FilterInputs
from signal_kernels import resample_bars

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True, eq=False)
class MarketBatch:
    """Everything one tick evaluates, ticker order fixed by ``tickers``."""

    tickers: tuple[str, ...]
    as_of: datetime
    panels: dict[Timeframe, Panel]
    filters: FilterInputs
    unknown_inputs: tuple[tuple[str, ...], ...]


def epoch_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return int(moment.timestamp())


def assemble(inputs: Sequence[TickerInputs], as_of: datetime, window: int) -> MarketBatch:
    """Panels of the last ``window`` bars final at ``as_of`` per timeframe, and filter inputs."""
    cut = epoch_seconds(as_of)
    n = len(inputs)
    unknown: list[list[str]] = [[] for _ in range(n)]
    panels: dict[Timeframe, Panel] = {}
    tickers = tuple(item.ticker for item in inputs)
    for timeframe in TIMEFRAMES:
        slices: list[tuple[Bars, int, int] | None] = []
        for i, item in enumerate(inputs):
            bars = item.bars_for(timeframe)
            if isinstance(bars, Bars) and (end := bars.count_until(cut)) > 0:
                slices.append((bars, max(0, end - window), end))
            else:
                slices.append(None)
                unknown[i].append(f"bars:{timeframe}")
        rows = max([MIN_PANEL_ROWS] + [end - start for s in slices if s for _, start, end in [s]])
        high = np.full((rows, n), np.nan)
        low = np.full((rows, n), np.nan)
        close = np.full((rows, n), np.nan)
        lengths = np.zeros(n, dtype=np.int64)
        for i, entry in enumerate(slices):
            if entry is None:
                continue
            bars, start, end = entry
            length = end - start
            high[rows - length :, i] = bars.high[start:end]
            low[rows - length :, i] = bars.low[start:end]
            close[rows - length :, i] = bars.close[start:end]
            lengths[i] = length
        panels[timeframe] = Panel(timeframe, high, low, close, lengths, tickers)
    filters = _filter_inputs(inputs, as_of, unknown)
    return MarketBatch(
        tickers=tickers,
        as_of=as_of,
        panels=panels,
        filters=filters,
        unknown_inputs=tuple(tuple(names) for names in unknown),
    )


def _filter_inputs(
    inputs: Sequence[TickerInputs], as_of: datetime, unknown: list[list[str]]
) -> FilterInputs:
    n = len(inputs)
    macro = np.full(n, np.nan)
    pe = np.full(n, np.nan)
    sector_pe = np.full(n, np.nan)
    days = np.full(n, np.nan)
    today = as_of.astimezone(NEW_YORK).date()
    for i, item in enumerate(inputs):
        if isinstance(item.macro_bias, float | int):
            macro[i] = float(item.macro_bias)
        else:
            unknown[i].append("macro_bias")
        if isinstance(item.valuation, Valuation):
            pe[i] = item.valuation.pe_ratio
            if isinstance(item.valuation.sector_median_pe, float | int):
                sector_pe[i] = float(item.valuation.sector_median_pe)
            else:
                unknown[i].append("sector_median_pe")
        else:
            unknown[i].append("valuation")
        if isinstance(item.next_earnings, date):
            days[i] = (item.next_earnings - today).days
        else:
            unknown[i].append("next_earnings")
    return FilterInputs(macro, pe, sector_pe, days)


def session_close_epoch(day: date) -> int:
    """UTC epoch seconds of the 16:00 New York close of ``day`` (when a daily bar is final)."""
    return int(datetime.combine(day, time(16, 0), NEW_YORK).astimezone(UTC).timestamp())


def daily_bars_from_dates(
    dates: Sequence[date],
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
) -> Bars:
    """Daily Bars stamped at each session's close."""
    stamps = np.array([session_close_epoch(d) for d in dates], dtype=np.int64)
    return Bars.from_arrays(stamps, open_, high, low, close, volume)


SESSION_LENGTH_S = 6 * 3600 + 30 * 60  # 09:30 to 16:00 New York


def resample_daily(bars: Bars, timeframe: Timeframe) -> Bars:
    """Daily bars into W or M bars with ``signal_kernels.resample_bars`` (NY sessions).

    Daily bars are stamped at their session's close; the kernel wants each bar's start, so
    they go in at that day's 09:30 open. A week is an ISO week, a month a calendar month,
    both in New York time. Each output bar is stamped at its period's nominal end (Friday's
    or the month's last day's 16:00 close), so an unfinished week or month is never read:
    the verdict at ``as_of`` is the same whether or not later days exist (no look-ahead,
    and no partial bars that change).
    """
    if timeframe not in (Timeframe.W, Timeframe.M):
        raise ValueError(f"daily bars resample only into W or M, not {timeframe}")
    if len(bars) == 0:
        return bars
    starts_ns = (bars.timestamps - SESSION_LENGTH_S) * 1_000_000_000
    out = resample_bars(starts_ns, bars.open, bars.high, bars.low, bars.close, bars.volume,
                        "W" if timeframe is Timeframe.W else "M")
    period_starts = [
        datetime.fromtimestamp(int(ns) // 1_000_000_000, NEW_YORK).date() for ns in out.timestamp
    ]
    return Bars.from_arrays(
        np.array([session_close_epoch(_period_end(d, timeframe)) for d in period_starts],
                 dtype=np.int64),
        out.open, out.high, out.low, out.close, out.volume,
    )


def _period_end(first_day: date, timeframe: Timeframe) -> date:
    if timeframe is Timeframe.W:
        return first_day + timedelta(days=4 - first_day.weekday())  # Friday of the ISO week
    following = date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1)
    return following - timedelta(days=1)


INTRADAY_SECONDS = {Timeframe.M30: 1800, Timeframe.H1: 3600, Timeframe.H4: 4 * 3600}


def resample_intraday(
    starts_ns: npt.ArrayLike,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeframe: Timeframe,
) -> Bars:
    """Intraday bars (UTC epoch-ns starts) into M30, H1, H4 or D Bars on New York sessions.

    Each output bar is stamped when it is final: its bucket's end, or the 16:00 close for
    the session's last (shorter) bucket and for D. A bucket still open at ``as_of`` is
    therefore never read, so a verdict cannot change when later bars arrive.
    """
    if timeframe not in (*INTRADAY_SECONDS, Timeframe.D):
        raise ValueError(f"intraday bars resample into M30, H1, H4 or D, not {timeframe}")
    kernel_timeframe: Literal["M30", "H1", "H4", "D"] = timeframe.value  # type: ignore[assignment]
    out = resample_bars(starts_ns, open_, high, low, close, volume, kernel_timeframe)
    starts_s = out.timestamp // 1_000_000_000
    closes = np.array(
        [session_close_epoch(datetime.fromtimestamp(int(t), NEW_YORK).date()) for t in starts_s],
        dtype=np.int64,
    )
    if timeframe is Timeframe.D:
        stamps = closes
    else:
        stamps = np.minimum(starts_s + INTRADAY_SECONDS[timeframe], closes)
    return Bars.from_arrays(stamps, out.open, out.high, out.low, out.close, out.volume)


def inputs_from_intraday(
    ticker: str,
    starts_ns: npt.ArrayLike,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    *,
    valuation: Valuation | None = None,
    macro_bias: float | None = None,
    next_earnings: date | None = None,
    sector: str | None = None,
) -> TickerInputs:
    """TickerInputs for all six timeframes from one intraday series (e.g. 5-minute bars).

    M30, H1, H4 and D come from the intraday bars, W and M from those daily bars.
    """
    columns = (starts_ns, open_, high, low, close, volume)
    intraday = {tf: resample_intraday(*columns, tf) for tf in INTRADAY_SECONDS}
    daily = resample_intraday(*columns, Timeframe.D)
    return inputs_from_daily(
        ticker, daily, intraday=intraday, valuation=valuation, macro_bias=macro_bias,
        next_earnings=next_earnings, sector=sector,
    )


def inputs_from_daily(
    ticker: str,
    daily: Bars,
    *,
    intraday: dict[Timeframe, Bars] | None = None,
    valuation: Valuation | None = None,
    macro_bias: float | None = None,
    next_earnings: date | None = None,
    sector: str | None = None,
) -> TickerInputs:
    """TickerInputs from daily bars (W and M resampled from them) plus whatever else exists.

    Intraday timeframes absent from ``intraday`` are UNKNOWN, as is every ``None`` argument.
    """
    bars: dict[Timeframe, Bars] = dict(intraday or {})
    bars[Timeframe.D] = daily
    bars[Timeframe.W] = resample_daily(daily, Timeframe.W)
    bars[Timeframe.M] = resample_daily(daily, Timeframe.M)
    return TickerInputs(
        ticker=ticker,
        bars=bars,
        valuation=valuation if valuation is not None else UNKNOWN,
        macro_bias=macro_bias if macro_bias is not None else UNKNOWN,
        next_earnings=next_earnings if next_earnings is not None else UNKNOWN,
        sector=sector if sector is not None else UNKNOWN,
    )
