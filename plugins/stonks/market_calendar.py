"""The NYSE calendar: regular sessions are weekdays 09:30-16:00 New York, minus holidays.

Holiday rules as published by NYSE (observed on the nearest weekday; New Year's Day on a
Saturday is not observed on the Friday before). Early closes (13:00) are not modelled.
Pure date arithmetic, shared by the batch tier's timetable and the real-time trading gates.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CLOSE",
    "NEW_YORK",
    "OPEN",
    "holidays",
    "is_trading_day",
    "next_trading_day",
    "previous_trading_day",
    "session_bounds",
]

NEW_YORK = ZoneInfo("America/New_York")
OPEN = time(9, 30)
CLOSE = time(16, 0)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@functools.cache
def holidays(year: int) -> frozenset[date]:
    """NYSE full-day holidays of ``year``."""
    days = {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _last_weekday(year, 5, 0),  # Memorial Day
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),
    }
    new_year = date(year, 1, 1)
    if new_year.weekday() != 5:
        days.add(_observed(new_year))
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    return frozenset(days)


def is_trading_day(day: date) -> bool:
    """Whether ``day`` has a regular NYSE session (a weekday that is not a holiday)."""
    return day.weekday() < 5 and day not in holidays(day.year)


def next_trading_day(day: date) -> date:
    """The first trading day on or after ``day``."""
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def previous_trading_day(day: date) -> date:
    """The last trading day on or before ``day``."""
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """The regular session of trading day ``day`` as (open, close) in UTC."""
    if not is_trading_day(day):
        raise ValueError(f"{day.isoformat()} is not an NYSE trading day")
    return (datetime.combine(day, OPEN, NEW_YORK).astimezone(UTC),
            datetime.combine(day, CLOSE, NEW_YORK).astimezone(UTC))
