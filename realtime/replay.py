"""Finding replay moments in the sample window where the signal engine rates a ticker BUY.

The demo, the tests and the benchmark replay a session of the bundled sample with the
inputs the sample lacks supplied explicitly; which (ticker, session) is a BUY depends on
the signal engine's current tuning, so it is looked up rather than hard-coded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from realtime.market_data import BarStore
from realtime.signal_engine import SignalEngine, Valuation, Verdict, inputs_from_daily
from realtime.trading.calendar import NEW_YORK, is_trading_day
from stonks.universe import load_universe

SAMPLE_VALUATION = Valuation(pe_ratio=15.0, sector_median_pe=15.0)


def next_earnings_for(moment: datetime) -> date:
    """An earnings date well outside any blackout of ``moment``."""
    return (moment + timedelta(days=60)).date()


def session_moments(last: date, sessions: int) -> list[datetime]:
    """10:30 New York of the ``sessions`` trading days up to ``last``, newest first."""
    out: list[datetime] = []
    day = last
    while len(out) < sessions:
        if is_trading_day(day):
            out.append(datetime(day.year, day.month, day.day, 10, 30, tzinfo=NEW_YORK)
                       .astimezone(UTC))
        day -= timedelta(days=1)
    return out


def buy_candidates(
    tickers: Sequence[str], moments: Sequence[datetime], *, macro_bias: float,
    bars: BarStore | None = None, limit: int = 1,
) -> list[tuple[datetime, list[str]]]:
    """For the first moments (in order) with BUYs: (moment, tickers rated BUY)."""
    store = bars or BarStore()
    sectors = {c.ticker: c.sector for c in load_universe()}
    found: list[tuple[datetime, list[str]]] = []
    with SignalEngine(parallel=False) as engine:
        for moment in moments:
            inputs = [inputs_from_daily(t, daily, valuation=SAMPLE_VALUATION,
                                        macro_bias=macro_bias,
                                        next_earnings=next_earnings_for(moment),
                                        sector=sectors.get(t))
                      for t in tickers if (daily := store.daily(t)) is not None]
            buys = [o.ticker for o in engine.evaluate_batch(inputs, moment)
                    if o.consensus is Verdict.BUY]
            if buys:
                found.append((moment, buys))
                if len(found) >= limit:
                    break
    return found
