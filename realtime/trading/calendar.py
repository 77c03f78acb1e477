"""NYSE regular sessions: weekdays 09:30-16:00 New York, minus the exchange's holidays.

The holiday rules live in :mod:`stonks.market_calendar` (shared with the batch tier's
timetable); this module adds the intraday view the trading gates need.
"""

from __future__ import annotations

from datetime import datetime

from stonks.market_calendar import CLOSE, NEW_YORK, OPEN, holidays, is_trading_day

__all__ = ["CLOSE", "NEW_YORK", "OPEN", "holidays", "is_trading_day", "session_minutes"]


def session_minutes(moment: datetime) -> tuple[float, float] | None:
    """(minutes since the open, minutes to the close) if the market is open at ``moment``."""
    local = moment.astimezone(NEW_YORK)
    if not is_trading_day(local.date()):
        return None
    opened = datetime.combine(local.date(), OPEN, NEW_YORK)
    closes = datetime.combine(local.date(), CLOSE, NEW_YORK)
    if not opened <= local < closes:
        return None
    return ((local - opened).total_seconds() / 60, (closes - local).total_seconds() / 60)
