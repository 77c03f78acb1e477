"""The end-to-end demo on the embedded default: what exists of the pipeline, run for real.

Starts the embedded Redis, migrates the SQLite database, publishes the bundled S&P 500
universe (sample data, with one deliberately malformed message) on the ingestion queue,
consumes it into ``companies``, computes daily indicators for the tracked tickers with the
Cython kernels, and prints what happened at each step. Running it again changes nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from stonks import redis_keys
from stonks.company_seeding import CompanyListing, CompanyUpserter, listings
from stonks.config import get_settings
from stonks.db import get_engine, safe_url
from stonks.db.migrate import current, upgrade
from stonks.embedded import RedisServer
from stonks.errors import StonksError
from stonks.queues import Consumer, ConsumerConfig, DeadLetters, Producer, queue_stats
from stonks.redis_client import connect
from stonks.redis_keys import QueueName
from stonks.universe import DEFAULT_TRACKED, load_daily_bars, load_universe

logger = logging.getLogger(__name__)


class DemoStageFailed(StonksError):
    """A later stage of the demo exited with an error (its output says why)."""

STEPS = 6

# Later stages live in packages this library must not import (Airflow, the real-time tier);
# they run as their own processes, in pipeline order, when they exist.
STAGES = (
    ("stonks_airflow.demo", "batch tier: Airflow DAGs over the sample window"),
    ("realtime.demo", "real-time tier: signal engine verdicts"),
)


def _step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def run(*, keep_services: bool = False) -> int:
    settings = get_settings()
    print("Stonks Oracle demo: embedded default, bundled sample data (S&P 500, 2009-08..2010-08)")
    server = RedisServer(settings.embedded_redis_dir) if settings.uses_embedded_redis else None
    started_here = False
    if server is not None:
        was_running = server.status().running
        status = server.start(detach=True)
        started_here = not was_running
        state = "started" if started_here else "already running"
        _step(1, f"services: embedded Redis {state} (pid {status.pid}) at {status.url}")
    else:
        _step(1, "services: using the configured Redis")
    try:
        _run_pipeline(settings.effective_database_url)
        for module, title in STAGES:
            if _stage_exists(module):
                _run_stage(module, title)
    finally:
        if server is not None and started_here and not keep_services:
            server.stop()
            print("services: embedded Redis stopped (use --keep-services to leave it running)")
    return 0


def _run_pipeline(database_url: str) -> None:
    upgrade(database_url)
    engine = get_engine(database_url)
    tables = len(sa.inspect(engine).get_table_names()) - 1  # minus alembic_version
    _step(2, f"database: {safe_url(database_url)} at revision {current(database_url)} "
             f"({tables} tables)")

    client = connect()
    queue = QueueName.INGESTION.value
    universe = load_universe()
    producer = Producer(client, queue)
    producer.publish_many(listings(universe, DEFAULT_TRACKED))
    # One malformed message, as a broken upstream would send: it must land in the DLQ.
    client.xadd(redis_keys.queue(queue), {
        "schema": CompanyListing.SCHEMA, "v": "1", "body": '{"name": "No Ticker Inc"}',
    })
    _step(3, f"ingestion queue: published {len(universe)} company listings from the bundled "
             "S&P 500 universe, plus 1 malformed message")

    dead = DeadLetters(client, queue)
    dead_before = dead.count()
    consumer = Consumer(
        client, queue, CompanyListing, CompanyUpserter(engine),
        consumer_name="demo", config=ConsumerConfig(block_ms=100, batch_size=200),
    )
    started = time.perf_counter()
    stats = consumer.run(max_idle_polls=1)
    elapsed = time.perf_counter() - started
    _step(4, f"consumer: {stats.handled} messages upserted into companies in {elapsed:.2f}s; "
             f"{dead.count() - dead_before} dead-lettered")
    for letter in dead.oldest(limit=20)[dead_before:]:
        print(f"      dlq {letter.dlq_id}: {letter.error}")
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM companies")).scalar_one()
        sectors = Counter(conn.execute(sa.text("SELECT sector FROM companies")).scalars())
        tracked = list(
            conn.execute(
                sa.text("SELECT ticker FROM companies WHERE tracked ORDER BY ticker")
            ).scalars()
        )
    print(f"      companies: {total} rows, {len(tracked)} tracked ({', '.join(tracked)})")
    print("      by sector: " + ", ".join(f"{s} {n}" for s, n in sectors.most_common(5)) + ", ...")

    _step(5, "signal kernels: latest daily indicators of the tracked tickers (real bars)")
    _print_indicators(tracked)

    _step(6, "queues now:")
    for item in queue_stats(client):
        if item.length or item.dead_letters or item.groups:
            pending = sum(g.pending for g in item.groups)
            print(f"      {item.queue}: length {item.length}, pending {pending}, "
                  f"dead letters {item.dead_letters}")
    client.close()
    print("done. Re-running the demo is idempotent: the company rows stay the same; "
          "inspect dead letters with `stonks dlq list ingestion`.")


def _stage_exists(module: str) -> bool:
    package, _, name = module.partition(".")
    spec = importlib.util.find_spec(package)  # finds without importing the package
    if spec is None or not spec.submodule_search_locations:
        return False
    return any(Path(p, f"{name}.py").is_file() for p in spec.submodule_search_locations)


def _run_stage(module: str, title: str) -> None:
    print(f"== {title} (python -m {module})", flush=True)
    result = subprocess.run([sys.executable, "-m", module], env=os.environ.copy(), check=False)
    if result.returncode != 0:
        raise DemoStageFailed(f"demo stage {module} failed with exit code {result.returncode}")


def _print_indicators(tickers: list[str]) -> None:
    from signal_kernels import atr, rsi, sma

    bars = load_daily_bars(set(tickers))
    print(f"      {'ticker':<7}{'date':>12}{'close':>10}{'SMA20':>10}{'RSI14':>8}{'ATR14':>8}")
    for ticker in tickers:
        series = bars.get(ticker)
        if series is None:
            continue
        close = series.close
        print(
            f"      {ticker:<7}{series.dates[-1].isoformat():>12}{close[-1]:>10.2f}"
            f"{sma(close, 20)[-1]:>10.2f}{rsi(close, 14)[-1]:>8.1f}"
            f"{atr(series.high, series.low, close, 14)[-1]:>8.2f}"
        )
