"""Airflow timetables of the batch tier: one data interval per NYSE regular session.

``NyseSessionTimetable`` gives each trading day the interval [09:30, 16:00) New York time
(in UTC), skipping weekends and NYSE holidays, and runs it once the session has closed.
A logical date is the session's open, so ``airflow backfill create --from-date D1 --to-date
D2`` plans the sessions that open within [D1, D2] (a bare date D2 is its midnight UTC, before
that day's open: pass the following day to include D2's session).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime, instance

from stonks.market_calendar import (
    NEW_YORK,
    next_trading_day,
    previous_trading_day,
    session_bounds,
)

__all__ = ["NyseSessionTimetable"]


def _pendulum(moment: datetime) -> DateTime:
    return instance(moment.astimezone(UTC))


def _interval(day: date) -> DataInterval:
    opened, closed = session_bounds(day)
    return DataInterval(_pendulum(opened), _pendulum(closed))


def _last_closed_session(moment: datetime) -> date:
    """The trading day of the latest session that closed at or before ``moment``."""
    day = previous_trading_day(moment.astimezone(NEW_YORK).date())
    if session_bounds(day)[1] > moment:
        day = previous_trading_day(day - timedelta(days=1))
    return day


def _first_session_opening_at_or_after(moment: datetime) -> date:
    day = next_trading_day(moment.astimezone(NEW_YORK).date())
    if session_bounds(day)[0] < moment:
        day = next_trading_day(day + timedelta(days=1))
    return day


class NyseSessionTimetable(Timetable):
    """Runs after each NYSE regular session, over that session (weekends and holidays skipped)."""

    description = "After each NYSE regular session (09:30-16:00 America/New_York)"

    @property
    def summary(self) -> str:
        return "NYSE sessions"

    def serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> NyseSessionTimetable:
        return cls()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NyseSessionTimetable)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        # A manual run covers the latest session that had closed when it was triggered.
        return _interval(_last_closed_session(run_after))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if last_automated_data_interval is not None:
            last_day = last_automated_data_interval.start.astimezone(NEW_YORK).date()
            day = next_trading_day(last_day + timedelta(days=1))
            if earliest is not None:
                day = max(day, _first_session_opening_at_or_after(earliest))
        elif earliest is None:
            return None  # no start_date: nothing to schedule
        else:
            day = _first_session_opening_at_or_after(earliest)
        if not restriction.catchup:
            # Like a cron timetable without catchup: start at the latest closed session.
            now = datetime.now(UTC)
            day = max(day, _last_closed_session(now))
        interval = _interval(day)
        if restriction.latest is not None and interval.start > restriction.latest:
            return None
        return DagRunInfo.interval(start=interval.start, end=interval.end)
