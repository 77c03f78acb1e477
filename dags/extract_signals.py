"""Turn parsed documents into the three signal layers and hand tickers to aggregation.

Runs when `process_documents` updates the parsed-documents Asset, and every 30 minutes to
pick up documents an earlier run left pending (token budget spent, LLM unreachable, a
crashed lease). Consumes `stonks:queue:extraction` and `stonks:queue:macro_classification`
2 : 1: the document-extractor (LLM or the embedded lexicon) writes company signals, the
event-classifier writes global events interpolated through exposure profiles into macro
signals, and company signals are propagated to competitors. Each ticker that received a
signal gets one job on `stonks:queue:aggregation`. One run at a time, so the per-run token
budget holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from stonks_airflow.assets import PARSED_DOCUMENTS, SIGNALS
from stonks_airflow.guard import guarded

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=2),
}


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/30 * * * *", timezone="UTC"), assets=PARSED_DOCUMENTS
    ),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "extraction", "signals"],
    doc_md=__doc__,
)
def extract_signals() -> None:
    @task(outlets=[SIGNALS])
    @guarded
    def extract_classify_propagate(run_id: str | None = None) -> dict[str, Any]:
        from stonks.extraction.stage import default_owner, run_signal_stage

        return run_signal_stage(owner=f"{run_id}:{default_owner()}")

    extract_classify_propagate()


extract_signals()
