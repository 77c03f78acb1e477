"""Macro and geopolitical news from RSS, Atom and JSON feeds.

Each run fetches the feeds of `STONKS_MACRO_FEED_URLS` and keeps the entries published in
its data interval (one UTC day) as macro documents. Without configured feeds the bundled
sample feeds are replayed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from stonks_airflow.assets import RAW_DOCUMENTS
from stonks_airflow.guard import guarded
from stonks_airflow.pools import MACRO_FEEDS

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(minutes=20),
}


@dag(
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "ingestion", "macro"],
    doc_md=__doc__,
)
def ingest_macro_news() -> None:
    @task(pool=MACRO_FEEDS, outlets=[RAW_DOCUMENTS])
    @guarded
    def fetch_macro_feeds(
        data_interval_start: datetime | None = None,
        data_interval_end: datetime | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        from stonks.ingestion.jobs import ingest_macro_news as ingest

        assert data_interval_start is not None and data_interval_end is not None
        return ingest(data_interval_start, data_interval_end, dag_run_id=run_id)

    fetch_macro_feeds()


ingest_macro_news()
