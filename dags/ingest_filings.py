"""SEC EDGAR 10-K/10-Q filings of every tracked company with a CIK.

Each run reads `https://data.sec.gov/submissions/CIK##########.json` per company, keeps the
10-K/10-Q filings accepted inside its data interval (one UTC day) and fetches their primary
documents, sending the descriptive User-Agent the SEC requires and staying under its 10
requests/s through the shared token bucket `stonks:ratelimit:sec_edgar` (plus the
`sec_edgar` pool). Without `STONKS_SEC_USER_AGENT` the bundled sample filings are replayed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from stonks_airflow.assets import RAW_DOCUMENTS
from stonks_airflow.guard import guarded
from stonks_airflow.pools import SEC_EDGAR

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(hours=1),
    "execution_timeout": timedelta(minutes=45),
}


@dag(
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=2,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "ingestion", "filings", "sec"],
    doc_md=__doc__,
)
def ingest_filings() -> None:
    @task(pool=SEC_EDGAR, outlets=[RAW_DOCUMENTS])
    @guarded
    def fetch_filings(
        data_interval_start: datetime | None = None,
        data_interval_end: datetime | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        from stonks.ingestion.jobs import ingest_filings as ingest

        assert data_interval_start is not None and data_interval_end is not None
        return ingest(data_interval_start, data_interval_end, dag_run_id=run_id)

    fetch_filings()


ingest_filings()
