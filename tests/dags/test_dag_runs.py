"""`dag.test()` of every DAG against a migrated Airflow metadata DB, real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from tests.dags.conftest import REPO

DAY = datetime(2010, 1, 28, tzinfo=UTC)  # a dense day of the sample corpus


def _dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def _run(dag_id: str, logical_date: datetime) -> dict[str, str]:
    run = _dag(dag_id).test(logical_date=logical_date)
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _rows(url: str, query: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query)).all())
    finally:
        engine.dispose()


def test_ingestion_and_processing_dags_run_over_the_sample_window(
    airflow_db: Path, stonks_env: dict[str, str]
) -> None:
    url = stonks_env["STONKS_DATABASE_URL"]
    for dag_id in ("ingest_company_news", "ingest_filings", "ingest_macro_news",
                   "ingest_market_bars"):
        assert set(_run(dag_id, DAY).values()) == {"success"}, dag_id
    runs = _rows(url, "SELECT s.key, r.window_start, r.window_end, r.status FROM ingestion_runs r "
                      "JOIN sources s ON s.id = r.source_id ORDER BY s.key")
    assert {r.key for r in runs} == {"sample_news", "sample_filings", "sample_macro",
                                     "sample_bars"}
    assert all(r.status == "succeeded" for r in runs)
    # Documents run on UTC days; bars on the NYSE session that closed before DAY (27 Jan).
    windows = {r.key: (r.window_start, r.window_end) for r in runs}
    assert all(end - start == timedelta(days=1) for key, (start, end) in windows.items()
               if key != "sample_bars")
    assert windows["sample_bars"] == (datetime(2010, 1, 27, 14, 30, tzinfo=UTC),
                                      datetime(2010, 1, 27, 21, 0, tzinfo=UTC))
    window_start, window_end = windows["sample_news"]
    documents = _rows(url, "SELECT kind, published_at, status FROM documents")
    assert documents and all(d.status == "ingested" for d in documents)
    assert all(window_start <= d.published_at < window_end for d in documents)
    assert {d.kind for d in documents} >= {"news", "macro"}
    lake = Path(stonks_env["STONKS_LAKE_PATH"])
    assert list(lake.glob("bars/timespan=day/date=*/sample_bars.parquet"))
    assert list(lake.glob("raw/sample_news/*/*/*/*.json"))

    assert _run("process_documents", DAY) == {"parse_and_route": "success"}
    parsed = _rows(url, "SELECT status, route FROM documents")
    assert all(p.status in ("parsed", "skipped") for p in parsed)
    assert {p.route for p in parsed if p.status == "parsed"} <= {"extraction", "macro"}
    assert _rows(url, "SELECT count(*) FROM document_company_mentions")[0][0] > 0
    client = redis.Redis.from_url(stonks_env["STONKS_REDIS_URL"])
    queued = client.xlen("stonks:queue:extraction") + client.xlen(
        "stonks:queue:macro_classification")
    assert queued == sum(1 for p in parsed if p.status == "parsed")


def test_rerunning_a_window_leaves_the_same_rows(
    airflow_db: Path, stonks_env: dict[str, str]
) -> None:
    url = stonks_env["STONKS_DATABASE_URL"]
    query = "SELECT content_hash, ingestion_run_id FROM documents ORDER BY content_hash"
    _run("ingest_company_news", DAY)
    first = _rows(url, query)
    _run("ingest_company_news", DAY)
    assert _rows(url, query) == first
    (run,) = _rows(url, "SELECT attempts, items_fetched, items_stored, items_duplicate "
                        "FROM ingestion_runs")
    assert run.attempts == 2 and run.items_stored == 0
    assert run.items_duplicate == run.items_fetched >= len(first)


def test_pipeline_toggle_off_skips_every_task(
    airflow_db: Path, stonks_env: dict[str, str]
) -> None:
    client = redis.Redis.from_url(stonks_env["STONKS_REDIS_URL"])
    client.set("stonks:pipeline:enabled", "0")
    for dag_id in ("ingest_company_news", "process_documents", "pipeline_maintenance"):
        states = _run(dag_id, DAY)
        assert set(states.values()) == {"skipped"}, (dag_id, states)
    url = stonks_env["STONKS_DATABASE_URL"]
    assert _rows(url, "SELECT count(*) FROM ingestion_runs")[0][0] == 0


def test_pipeline_maintenance_recovers_leases_and_reports_dead_letters(
    airflow_db: Path, stonks_env: dict[str, str]
) -> None:
    client = redis.Redis.from_url(stonks_env["STONKS_REDIS_URL"])
    client.xadd("stonks:dlq:extraction", {"error": "boom", "entry_id": "1-0",
                                          "orig:schema": "x", "orig:body": "{}"})
    states = _run("pipeline_maintenance", DAY)
    assert set(states.values()) == {"success"}, states
    assert client.xlen("stonks:dlq:extraction") == 1  # inspection alone does not replay


def test_ingestion_dags_can_be_backfilled_over_a_date_range(airflow_db: Path) -> None:
    import os
    import subprocess
    import sys

    env = os.environ.copy()
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True,
                   capture_output=True, env=env, timeout=180)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "backfill", "create", "--dag-id", "ingest_filings",
         "--from-date", "2009-09-01", "--to-date", "2009-09-03", "--dry-run"],
        check=True, capture_output=True, text=True, env=env, timeout=180)
    planned = [line for line in result.stdout.splitlines() if line.startswith("| 2009-")]
    assert [line.split()[1] for line in planned] == ["2009-09-01", "2009-09-02", "2009-09-03"]
