"""Batch-tier demo: run the ingestion DAGs and process_documents with ``dag.test()``.

Uses the embedded default (SQLite at ``.stonks/stonks.db``, the embedded Redis started by
``stonks services up``) and an Airflow home under ``.stonks/airflow`` with a SQLite
metadata DB. Runs every ingestion DAG over a few days of the sample window, then
``process_documents`` and ``extract_signals``, and prints what was ingested, parsed and
routed, the signals extracted per ticker and the aggregation jobs enqueued. Running it again
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
from typing import Any

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
    print(f"[1/4] airflow: metadata DB migrated; pools {', '.join(pools)}; "
          f"DAGs {', '.join(sorted(bag.dags))}")

    first = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    for offset in range(args.days):
        # A daily CronDataIntervalTimetable run at D+1 covers the interval [D, D+1); the
        # NYSE-session DAG (ingest_market_bars) covers the last session closed by D+1: D.
        logical = first + timedelta(days=offset + 1)
        states = []
        for dag_id in INGESTION_DAGS:
            run = bag.dags[dag_id].test(logical_date=logical)
            states.append(f"{dag_id}={run.state}")
        print(f"      window {(logical - timedelta(days=1)).date()}: {' '.join(states)}")
    run = bag.dags["process_documents"].test(logical_date=first + timedelta(days=args.days))
    print(f"[2/4] process_documents: {run.state}")
    _report(settings.effective_database_url, settings.effective_redis_url)
    queued_before = connect(settings=settings).xlen("stonks:queue:aggregation")
    run = bag.dags["extract_signals"].test(logical_date=first + timedelta(days=args.days))
    print(f"[4/4] extract_signals: {run.state}")
    _report_signals(settings.effective_database_url, settings.effective_redis_url,
                    queued_before)
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
    print("[3/4] results")
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



def _report_signals(database_url: str, redis_url: str, queued_before: int) -> None:
    import json

    import sqlalchemy as sa

    from stonks.db import get_engine
    from stonks.redis_client import connect
    from stonks.weighted_signals import load_weighted_signals

    engine = get_engine(database_url)
    client = connect(redis_url)
    entries: Any = client.xrange("stonks:queue:aggregation")
    jobs = [json.loads(fields[b"body"]) for _, fields in entries]
    with engine.connect() as conn:
        counts = conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM document_impact_records) AS company, "
            "(SELECT count(*) FROM global_events) AS events, "
            "(SELECT count(*) FROM macro_impact_records) AS macro, "
            "(SELECT count(*) FROM competitive_signal_records) AS competitive, "
            "(SELECT count(*) FROM documents WHERE status = 'failed') AS failed")).one()
        print(f"      signals: company={counts.company} global_events={counts.events} "
              f"macro={counts.macro} competitive={counts.competitive} "
              f"documents failed={counts.failed}")
        tracked = {str(t) for (t,) in conn.execute(
            sa.text("SELECT ticker FROM companies WHERE tracked"))}
        since = datetime(2000, 1, 1, tzinfo=UTC)
        until = datetime(2100, 1, 1, tzinfo=UTC)
        others = []
        for ticker in sorted({str(j["ticker"]) for j in jobs}):
            signals = load_weighted_signals(conn, ticker, since=since, until=until)
            if ticker not in tracked:
                others.append(f"{ticker}({len(signals)})")
                continue
            print(f"      {ticker:<5} {len(signals)} signals, newest:")
            for s in signals[-4:]:
                print(f"        {s.event_time:%Y-%m-%d %H:%M} {s.layer.value:<11} "
                      f"dir={s.direction:+.0f} weight={s.weight:.2f} conf={s.confidence:.2f} "
                      f"[{s.provenance.model_name} doc #{s.provenance.document_id}]")
        if others:
            print(f"      untracked tickers with signals: {' '.join(others)}")
    print(f"      aggregation jobs on stonks:queue:aggregation: {len(jobs)} "
          f"({len(jobs) - queued_before} enqueued by this run, one per ticker)")
    for job in jobs:
        if job["ticker"] in tracked:
            print(f"        {job['ticker']:<5} as_of={job['as_of']} "
                  f"layers={','.join(job['layers'])}")


if __name__ == "__main__":
    sys.exit(main())
