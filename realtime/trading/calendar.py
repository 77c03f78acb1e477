"""NYSE regular sessions: weekdays 09:30-16:00 New York, minus the exchange's holidays.

The holiday rules live in :mod:`stonks.market_calendar` (shared with the batch tier's
timetable); this module adds the intraday view the trading gates need.
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from stonks.market_calendar import CLOSE, NEW_YORK, OPEN, holidays, is_trading_day

__all__ = ["CLOSE", "NEW_YORK", "OPEN", "holidays", "is_trading_day", "session_minutes"]


def session_minutes(moment: datetime) -> tuple[float, float] | None:
    """(minutes since the open, minutes to the close) if the market is open at ``moment``."""
    local = moment.astimezone(NEW_YORK)
    session = _session(local.date())
    if session is None:
        return None
    opened, closes = session
    if not opened <= local < closes:
        return None
    return ((local - opened).total_seconds() / 60, (closes - local).total_seconds() / 60)


@functools.lru_cache(maxsize=64)
def _session(day: date) -> tuple[datetime, datetime] | None:
    """The open and the close of ``day`` in New York (None when it is no trading day): the
    gates ask for every decision, and a batch's decisions share a day."""
    if not is_trading_day(day):
        return None
    return datetime.combine(day, OPEN, NEW_YORK), datetime.combine(day, CLOSE, NEW_YORK)
