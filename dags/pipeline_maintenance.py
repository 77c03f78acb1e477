"""Pipeline upkeep: expired-lease recovery, re-routing, dead-letter inspection and replay.

Every 15 minutes: lapsed parse leases go back to `ingested` (or `failed` after the last
attempt), parsed documents whose route message never reached a queue are re-published,
and every dead-letter queue is reported. Trigger with the `replay_queues` param (e.g.
`["extraction"]`) to move those queues' dead letters back for another try.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from stonks_airflow.guard import guarded

DEFAULT_ARGS = {
    "owner": "stonks",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "execution_timeout": timedelta(minutes=15),
}


@dag(
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="UTC"),
    start_date=datetime(2009, 8, 21),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stonks", "maintenance"],
    params={
        "replay_queues": Param([], type="array", description="Queues whose DLQ to replay."),
    },
    doc_md=__doc__,
)
def pipeline_maintenance() -> None:
    @task
    @guarded
    def recover_expired_leases() -> dict[str, int]:
        from stonks.maintenance import recover_leases

        return recover_leases()

    @task
    @guarded
    def republish_unrouted_documents() -> int:
        from stonks.maintenance import republish_unrouted

        return republish_unrouted()

    @task
    @guarded
    def inspect_dead_letters() -> dict[str, Any]:
        from stonks.maintenance import inspect_dead_letters as inspect

        return inspect()

    @task
    @guarded
    def replay_dead_letters(params: dict[str, Any] | None = None) -> dict[str, int]:
        from stonks.maintenance import replay_dead_letters as replay

        return replay(list((params or {}).get("replay_queues") or []))

    recovered = recover_expired_leases()
    recovered >> republish_unrouted_documents()
    inspect_dead_letters() >> replay_dead_letters()


pipeline_maintenance()
