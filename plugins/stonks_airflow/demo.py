"""Batch-tier demo: run the ingestion DAGs and process_documents with ``dag.test()``.

Uses the embedded default (SQLite at ``.stonks/stonks.db``, the embedded Redis started by
``stonks services up``) and an Airflow home under ``.stonks/airflow`` with a SQLite
metadata DB. Runs every ingestion DAG over a few days of the sample window, then
``process_documents``, and prints what was ingested, parsed and routed. Running it again
re-runs the same windows and changes nothing.

    python -m stonks_airflow.demo [--days N] [--start YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INGESTION_DAGS = ("ingest_company_news", "ingest_filings", "ingest_macro_news",
                  "ingest_market_bars")


def _configure_airflow(home: Path) -> None:
    # Must happen before airflow is imported anywhere in this process.
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                          f"sqlite:///{home / 'airflow.db'}")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")


def _fail(message: str) -> int:
    print(f"stonks_airflow.demo: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stonks_airflow.demo",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--start", default="2010-01-25", help="first UTC day (sample window)")
    parser.add_argument("--days", type=int, default=5, help="number of daily windows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # Airflow's own dependencies warn about their dependencies; not the demo's business.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*httpx.*")

    from stonks.config import get_settings
    from stonks.db.migrate import is_up_to_date
    from stonks.errors import StonksError
    from stonks.redis_client import connect

    settings = get_settings()
    try:
        connect(settings=settings).close()
        if not is_up_to_date(settings.effective_database_url):
            return _fail("the database is not migrated: run `stonks db upgrade` (or `stonks demo`)")
    except StonksError as exc:
        return _fail(str(exc))

    home = settings.home_dir / "airflow"
    _configure_airflow(home)
    started = time.perf_counter()
    print(f"Batch tier demo: Airflow home {home}; sample sources; "
          f"{args.days} daily windows from {args.start}")
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
    from airflow import settings as airflow_settings

    airflow_settings.configure_orm()  # type: ignore[no-untyped-call]
    from airflow.dag_processing.dagbag import DagBag

    from stonks_airflow.pools import ensure_pools

    pools = ensure_pools()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    if bag.import_errors:
        return _fail(f"DAG import errors: {bag.import_errors}")
    print(f"[1/3] airflow: metadata DB migrated; pools {', '.join(pools)}; "
          f"DAGs {', '.join(sorted(bag.dags))}")

    first = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    for offset in range(args.days):
        # A daily CronDataIntervalTimetable run at D+1 covers the interval [D, D+1).
        logical = first + timedelta(days=offset + 1)
        states = []
        for dag_id in INGESTION_DAGS:
            run = bag.dags[dag_id].test(logical_date=logical)
            states.append(f"{dag_id}={run.state}")
        print(f"      window {(logical - timedelta(days=1)).date()}: {' '.join(states)}")
    run = bag.dags["process_documents"].test(logical_date=first + timedelta(days=args.days))
    print(f"[2/3] process_documents: {run.state}")
    _report(settings.effective_database_url, settings.effective_redis_url)
    print(f"done in {time.perf_counter() - started:.1f}s")
    return 0


def _report(database_url: str, redis_url: str) -> None:
    import sqlalchemy as sa

    from stonks.db import get_engine
    from stonks.redis_client import connect

    engine = get_engine(database_url)
    with engine.connect() as conn:
        by_status = conn.execute(sa.text(
            "SELECT kind, status, coalesce(route, '-') AS route, count(*) AS n FROM documents "
            "GROUP BY kind, status, route ORDER BY kind, status, route")).all()
        runs = conn.execute(sa.text(
            "SELECT s.key, count(*) AS windows, sum(r.items_fetched) AS fetched, "
            "(SELECT count(*) FROM documents d WHERE d.source_id = s.id) AS documents "
            "FROM ingestion_runs r JOIN sources s ON s.id = r.source_id "
            "GROUP BY s.id, s.key ORDER BY s.key")).all()
        examples = conn.execute(sa.text(
            "SELECT d.id, d.kind, d.status, d.route, d.quality_score, d.title FROM documents d "
            "WHERE d.status IN ('parsed', 'skipped') ORDER BY d.published_at LIMIT 6")).all()
        mentions = {
            row.document_id: row.ticker for row in conn.execute(sa.text(
                "SELECT document_id, ticker FROM document_company_mentions WHERE is_primary"))
        }
    print("[3/3] results")
    for row in runs:
        print(f"      ingestion runs {row.key:<15} windows={row.windows} "
              f"items fetched={row.fetched} documents stored={row.documents}")
    for row in by_status:
        print(f"      documents {row.kind:<7} {row.status:<8} route={row.route:<11} {row.n}")
    for row in examples:
        quality = f"{row.quality_score:.2f}" if row.quality_score is not None else "-"
        print(f"      e.g. #{row.id} {row.kind} {row.status} -> {row.route or '-'} "
              f"q={quality} [{mentions.get(row.id, '-')}] {row.title}")
    client = connect(redis_url)
    print(f"      queues: extraction={client.xlen('stonks:queue:extraction')} "
          f"macro_classification={client.xlen('stonks:queue:macro_classification')}")


if __name__ == "__main__":
    sys.exit(main())
