"""The NYSE session timetable: sessions only, holidays skipped, serializable, runnable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from stonks.market_calendar import holidays, is_trading_day, session_bounds
from stonks_airflow.timetables import NyseSessionTimetable

REPO = Path(__file__).resolve().parents[2]


def _restriction(earliest: datetime | None, latest: datetime | None = None,
                 catchup: bool = True) -> Any:
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=pendulum.instance(earliest) if earliest else None,
                           latest=pendulum.instance(latest) if latest else None,
                           catchup=catchup)


def _sessions(earliest: datetime, latest: datetime) -> list[tuple[datetime, datetime]]:
    timetable, last, out = NyseSessionTimetable(), None, []
    while True:
        info = timetable.next_dagrun_info(last_automated_data_interval=last,
                                          restriction=_restriction(earliest, latest))
        if info is None:
            return out
        assert info.data_interval is not None and info.run_after == info.data_interval.end
        out.append((info.data_interval.start, info.data_interval.end))
        last = info.data_interval


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_calendar_knows_the_2009_and_2010_holidays() -> None:
    assert date(2009, 11, 26) in holidays(2009)  # Thanksgiving
    assert date(2010, 4, 2) in holidays(2010)  # Good Friday
    assert date(2010, 1, 18) in holidays(2010)  # Martin Luther King Jr. Day
    assert not is_trading_day(date(2009, 11, 28)) and is_trading_day(date(2009, 11, 27))
    # 09:30-16:00 New York is 14:30-21:00 UTC in winter, 13:30-20:00 in summer.
    assert session_bounds(date(2010, 1, 25)) == (_utc(2010, 1, 25, 14, 30), _utc(2010, 1, 25, 21))
    assert session_bounds(date(2010, 4, 5)) == (_utc(2010, 4, 5, 13, 30), _utc(2010, 4, 5, 20))
    with pytest.raises(ValueError, match="not an NYSE trading day"):
        session_bounds(date(2010, 4, 2))


def test_thanksgiving_week_2009_has_four_sessions() -> None:
    sessions = _sessions(_utc(2009, 11, 23), _utc(2009, 11, 30))
    assert [start.date() for start, _ in sessions] == [
        date(2009, 11, 23), date(2009, 11, 24), date(2009, 11, 25), date(2009, 11, 27)]
    assert sessions[0] == (_utc(2009, 11, 23, 14, 30), _utc(2009, 11, 23, 21))


def test_good_friday_2010_and_the_weekend_are_skipped() -> None:
    sessions = _sessions(_utc(2010, 3, 31), _utc(2010, 4, 6))
    assert [start.date() for start, _ in sessions] == [
        date(2010, 3, 31), date(2010, 4, 1), date(2010, 4, 5)]


def test_an_earliest_time_inside_a_session_starts_at_the_next_session() -> None:
    sessions = _sessions(_utc(2010, 1, 25, 15), _utc(2010, 1, 27))
    assert [start.date() for start, _ in sessions] == [date(2010, 1, 26)]


def test_without_a_start_date_nothing_is_scheduled() -> None:
    assert NyseSessionTimetable().next_dagrun_info(
        last_automated_data_interval=None, restriction=_restriction(None)) is None


def test_without_catchup_the_first_run_is_the_latest_closed_session() -> None:
    info = NyseSessionTimetable().next_dagrun_info(
        last_automated_data_interval=None,
        restriction=_restriction(_utc(2009, 8, 21), catchup=False))
    assert info is not None and info.data_interval is not None
    now = datetime.now(UTC)
    assert info.data_interval.end <= now
    assert (now - info.data_interval.end).days <= 5  # no more than a long weekend back


@pytest.mark.parametrize(("run_after", "session"), [
    (_utc(2010, 1, 26), date(2010, 1, 25)),  # after Monday's close
    (_utc(2010, 1, 25, 20), date(2010, 1, 22)),  # Monday's session still open: Friday
    (_utc(2010, 1, 30), date(2010, 1, 29)),  # Saturday: Friday
    (_utc(2009, 11, 27, 3), date(2009, 11, 25)),  # after Thanksgiving: Wednesday
    (_utc(2010, 4, 3), date(2010, 4, 1)),  # after Good Friday: Thursday
])
def test_a_manual_run_covers_the_latest_closed_session(run_after: datetime, session: date) -> None:
    interval = NyseSessionTimetable().infer_manual_data_interval(
        run_after=pendulum.instance(run_after))
    assert (interval.start, interval.end) == session_bounds(session)


def test_the_timetable_survives_serialization_through_the_plugin() -> None:
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    encoded = encode_timetable(NyseSessionTimetable())
    assert encoded["__type"] == "stonks_airflow.timetables.NyseSessionTimetable"
    decoded = decode_timetable(encoded)
    assert isinstance(decoded, NyseSessionTimetable)
    assert decoded == NyseSessionTimetable()
    assert decoded.summary == "NYSE sessions"


def test_the_market_bars_dag_serializes_with_its_timetable(airflow_db: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(REPO / "dags" / "ingest_market_bars.py"))
    assert bag.import_errors == {}
    dag = bag.dags["ingest_market_bars"]
    assert isinstance(dag.timetable, NyseSessionTimetable) and dag.catchup is False
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert isinstance(restored.timetable, NyseSessionTimetable)


def test_a_dag_test_run_ingests_one_session(airflow_db: Path, stonks_env: dict[str, str]) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "ingest_market_bars.py"))
    # Triggered on Saturday 30 Jan 2010: the run covers Friday's session.
    run = bag.dags["ingest_market_bars"].test(logical_date=_utc(2010, 1, 30))
    assert str(run.state) == "success"
    assert (run.data_interval_start, run.data_interval_end) == session_bounds(date(2010, 1, 29))
    engine = sa.create_engine(stonks_env["STONKS_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            windows = conn.execute(sa.text(
                "SELECT window_start, window_end, status FROM ingestion_runs")).all()
    finally:
        engine.dispose()
    assert [(w.window_start, w.window_end, w.status) for w in windows] == [
        (*session_bounds(date(2010, 1, 29)), "succeeded")]
    lake = Path(stonks_env["STONKS_LAKE_PATH"])
    assert [p.parent.name for p in lake.glob("bars/timespan=day/date=*/sample_bars.parquet")] == [
        "date=2010-01-29"]


def test_a_backfill_over_thanksgiving_week_plans_only_sessions(airflow_db: Path) -> None:
    import os
    import subprocess
    import sys

    env = os.environ.copy()
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True,
                   capture_output=True, env=env, timeout=180)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "backfill", "create", "--dag-id", "ingest_market_bars",
         "--from-date", "2009-11-23", "--to-date", "2009-11-28", "--dry-run"],
        check=True, capture_output=True, text=True, env=env, timeout=180)
    planned = [" ".join(line.split()[1:3]) for line in result.stdout.splitlines()
               if line.startswith("| 2009-")]
    assert planned == ["2009-11-23 14:30:00+00:00", "2009-11-24 14:30:00+00:00",
                       "2009-11-25 14:30:00+00:00", "2009-11-27 14:30:00+00:00"], result.stdout
