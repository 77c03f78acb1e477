"""Parse ingested documents: clean text, quality, company mentions, routing.

Runs when an ingestion DAG updates the raw-documents Asset, and every 30 minutes so that
documents left behind by a crashed run (their row lease lapsed) are picked up again.
Documents are leased in batches (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL), so
overlapping or retried runs never process a document twice. Macro documents are routed to
`stonks:queue:macro_classification`, the rest to `stonks:queue:extraction`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from stonks_airflow.assets import PARSED_DOCUMENTS, RAW_DOCUMENTS
from stonks_airflow.guard import guarded
from stonks_airflow.pools import DOCUMENT_PARSING

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=1),
}


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/30 * * * *", timezone="UTC"), assets=RAW_DOCUMENTS
    ),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=2,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "parsing", "documents"],
    doc_md=__doc__,
)
def process_documents() -> None:
    @task(pool=DOCUMENT_PARSING, outlets=[PARSED_DOCUMENTS])
    @guarded
    def parse_and_route(run_id: str | None = None) -> dict[str, Any]:
        from stonks.parsing.process import default_owner, process_documents

        return process_documents(owner=f"{run_id}:{default_owner()}")

    parse_and_route()


process_documents()
