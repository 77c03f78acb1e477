"""Company news from Polygon (`/v2/reference/news`) for every tracked ticker.

Each run fetches exactly its data interval (one UTC day) for all tracked tickers, stores raw
articles in the object store and new `documents` rows (deduplicated by content hash), and
records the window in `ingestion_runs`. Without `STONKS_POLYGON_API_KEY` the bundled
sample news is replayed. Backfill with
`airflow backfill create --dag-id ingest_company_news --from-date 2010-01-25 --to-date 2010-01-29`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from stonks_airflow.assets import RAW_DOCUMENTS
from stonks_airflow.guard import guarded
from stonks_airflow.pools import POLYGON

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(minutes=30),
}


@dag(
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "ingestion", "news", "polygon"],
    doc_md=__doc__,
)
def ingest_company_news() -> None:
    @task(pool=POLYGON, outlets=[RAW_DOCUMENTS])
    @guarded
    def fetch_news(
        data_interval_start: datetime | None = None,
        data_interval_end: datetime | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        from stonks.ingestion.jobs import ingest_company_news as ingest

        assert data_interval_start is not None and data_interval_end is not None
        return ingest(data_interval_start, data_interval_end, dag_run_id=run_id)

    fetch_news()


ingest_company_news()
