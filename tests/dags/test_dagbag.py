"""The DAG folder imports cleanly and every DAG follows the project's policy."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.dags.conftest import REPO

EXPECTED = {
    "ingest_company_news", "ingest_filings", "ingest_macro_news", "ingest_market_bars",
    "process_documents", "pipeline_maintenance", "extract_signals",
}


@pytest.fixture(scope="module")
def dagbag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dag_folder_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == EXPECTED


def test_file_stem_is_the_dag_id() -> None:
    stems = {p.stem for p in (REPO / "dags").glob("*.py")}
    assert stems == EXPECTED


def test_every_dag_has_tags_owner_retries_and_a_static_start(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        assert dag.catchup is False, dag_id
        assert isinstance(dag.start_date, datetime), dag_id
        assert dag.start_date.year == 2009, dag_id  # static, not now()-relative
        for task in dag.tasks:
            assert task.owner == "stonks", (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)


def test_ingestion_tasks_use_one_pool_per_api_and_publish_assets(dagbag) -> None:  # type: ignore[no-untyped-def]
    pools = {
        "ingest_company_news": "polygon_api", "ingest_market_bars": "polygon_api",
        "ingest_filings": "sec_edgar", "ingest_macro_news": "macro_feeds",
    }
    for dag_id, pool in pools.items():
        (task,) = dagbag.dags[dag_id].tasks
        assert task.pool == pool
        assert task.outlets, dag_id


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_each_dag_file_parses_in_under_a_second(stem: str, airflow_db: Path) -> None:
    code = (
        "import time, runpy; t = time.perf_counter(); "
        f"runpy.run_path({str(REPO / 'dags' / (stem + '.py'))!r}); "
        "print(time.perf_counter() - t)"
    )
    # Airflow and the stonks_airflow glue are imported first, as the DAG processor has them.
    warm = "import airflow.sdk, stonks_airflow.guard, stonks_airflow.assets; "
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", warm + code], capture_output=True,
                            text=True, check=True, cwd=REPO, timeout=120)
    assert float(result.stdout.strip().splitlines()[-1]) < 1.0, result.stderr
    assert time.perf_counter() - started < 60
