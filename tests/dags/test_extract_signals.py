"""`dag.test()` from raw documents to aggregation jobs: ingest → parse → extract_signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from tests.dags.test_dag_runs import _rows, _run

DAYS = (datetime(2010, 1, 26, tzinfo=UTC), datetime(2010, 1, 27, tzinfo=UTC),
        datetime(2010, 1, 28, tzinfo=UTC))
SIGNAL_COLUMNS = ("ticker, direction, magnitude, confidence, horizon, published_at")


def _aggregation_jobs(client: redis.Redis) -> list[dict[str, Any]]:
    entries: Any = client.xrange("stonks:queue:aggregation")
    return [json.loads(fields[b"body"]) for _, fields in entries]


def test_raw_documents_become_signals_and_one_aggregation_job_per_ticker(
    airflow_db: Path, stonks_env: dict[str, str]
) -> None:
    url = stonks_env["STONKS_DATABASE_URL"]
    for day in DAYS:
        for dag_id in ("ingest_company_news", "ingest_filings", "ingest_macro_news"):
            assert set(_run(dag_id, day).values()) == {"success"}, dag_id
    assert _run("process_documents", DAYS[-1]) == {"parse_and_route": "success"}
    assert _run("extract_signals", DAYS[-1]) == {"extract_classify_propagate": "success"}

    documents = _rows(url, "SELECT id, route, status, published_at FROM documents "
                           "WHERE route IS NOT NULL")
    assert documents and {d.route for d in documents} == {"extraction", "macro"}
    assert {d.status for d in documents} == {"extracted"}
    client = redis.Redis.from_url(stonks_env["STONKS_REDIS_URL"])
    for queue in ("extraction", "macro_classification"):
        assert client.xinfo_groups(f"stonks:queue:{queue}")[0]["pending"] == 0

    company = _rows(url, f"SELECT {SIGNAL_COLUMNS}, document_id, agent_variant_id, model_name,"
                         " prompt_hash FROM document_impact_records")
    macro = _rows(url, f"SELECT {SIGNAL_COLUMNS} FROM macro_impact_records")
    competitive = _rows(url, f"SELECT {SIGNAL_COLUMNS} FROM competitive_signal_records")
    assert company and macro and competitive
    assert all(r.model_name == "lexicon-v1" and r.prompt_hash and r.agent_variant_id
               for r in company)
    assert {r.direction for r in company} >= {"bullish", "bearish"}
    # Macro signals exist for every tracked company.
    tracked = {r.ticker for r in _rows(url, "SELECT ticker FROM companies WHERE tracked")}
    assert {r.ticker for r in macro} == tracked

    jobs = _aggregation_jobs(client)
    tickers = [j["ticker"] for j in jobs]
    assert len(tickers) == len(set(tickers))  # one job per ticker
    assert set(tickers) == ({r.ticker for r in company} | {r.ticker for r in macro}
                            | {r.ticker for r in competitive})
    assert any(set(j["layers"]) == {"company", "macro", "competitive"} for j in jobs)

    # A second run finds nothing pending and enqueues nothing new.
    assert _run("extract_signals", DAYS[-1]) == {"extract_classify_propagate": "success"}
    assert len(_aggregation_jobs(client)) == len(jobs)


def test_extract_signals_is_skipped_while_the_pipeline_is_paused(
    airflow_db: Path, stonks_env: dict[str, str]
) -> None:
    client = redis.Redis.from_url(stonks_env["STONKS_REDIS_URL"])
    client.set("stonks:pipeline:enabled", "0")
    assert _run("extract_signals", DAYS[-1]) == {"extract_classify_propagate": "skipped"}
    assert client.xlen("stonks:queue:aggregation") == 0


def test_extract_signals_runs_on_parsed_documents_one_run_at_a_time(airflow_db: Path) -> None:
    from stonks_airflow.assets import PARSED_DOCUMENTS, SIGNALS
    from tests.dags.test_dag_runs import _dag

    dag = _dag("extract_signals")
    assert dag.timetable.asset_condition.name == PARSED_DOCUMENTS.name
    assert dag.max_active_runs == 1  # the token budget is per run
    (task,) = dag.tasks
    assert [a.name for a in task.outlets] == [SIGNALS.name]
    producer = _dag("process_documents").tasks[0]
    assert PARSED_DOCUMENTS.name in [a.name for a in producer.outlets]
