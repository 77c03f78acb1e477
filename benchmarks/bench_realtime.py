"""Benchmark the real-time path: aggregation job enqueued → order filled (simulated broker).

Starts a throwaway PostgreSQL (tests.harness.postgres) and redis-server (stonks.embedded),
reached through Unix-domain sockets as on a single host (``--transport tcp`` for 127.0.0.1),
migrates, seeds the tickers that the signal engine rates BUY on the trade day (with known
valuation, macro and earnings inputs, plus one news and one macro signal each), starts
``python -m realtime.workers`` (four worker processes: aggregation, recommendation,
trading, broker_orders), then publishes AggregationJobs at a fixed rate. Latency per order
is ``orders.filled_at`` (stamped by the broker worker when the simulated fill is booked)
minus the job's ``created_at`` (stamped just before XADD). ``events_per_s`` is jobs
published divided by the time until every job has left the pipeline (backlog included).

``cpu_cores`` is the CPU each process group used over the run (PostgreSQL, Redis, each worker,
this driver), in cores, read from /proc (Linux).

Risk settings are opened up so that every job trades (no dedupe/cooldown, tiny Kelly
fraction on a large account, no correlation cap); gates still run and are recorded.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime.replay import buy_candidates, next_earnings_for, session_moments
from realtime.sql import table_of
from stonks import redis_keys
from stonks.db.engine import create_engine_for
from stonks.db.migrate import upgrade
from stonks.embedded import RedisServer
from stonks.models.orders import Order, TradingDecision
from stonks.models.recommendations import Recommendation
from stonks.queues import Producer
from stonks.universe import load_universe
from stonks.weighted_signals import AggregationJob
from tests.harness.postgres import PostgresServer, free_port
from tests.realtime.conftest import (
    insert_macro_signal,
    insert_news_signal,
    seed_companies,
)


def buy_tickers(limit: int) -> tuple[datetime, list[str]]:
    """A session and the tickers both pipelines rate BUY then, given the known inputs."""
    universe = sorted(c.ticker for c in load_universe())
    found = buy_candidates(universe, session_moments(date(2010, 8, 20), 60), macro_bias=1.0)
    if not found:
        raise SystemExit("the signal engine rates nothing BUY in the sample window")
    moment, tickers = found[0]
    return moment, tickers[:limit]


#: Risk opened up so that every job trades (gates still run and are recorded).
OPEN_RISK: dict[str, object] = {
    "rec_dedup_ttl_s": 0, "rec_cooldown_s": 0, "simulated_starting_cash": 1e12,
    "risk_kelly_fraction": 0.00001, "risk_max_correlation": 1, "risk_max_positions": 100000,
    "risk_max_sector_fraction": 1, "risk_min_confidence": 0,
    "simulated_max_volume_participation": 1e9,
}


def prepare(db: Engine, work: Path, limit: int) -> tuple[datetime, list[str], Path]:
    """Seed the BUY-rated tickers with one news and one macro signal each; the trade day,
    the tickers and a fundamentals file with known valuation and earnings."""
    trade_day, tickers = buy_tickers(limit)
    seed_companies(db, tuple(tickers))
    for ticker in tickers:
        insert_news_signal(db, ticker, trade_day - timedelta(hours=3))
        insert_macro_signal(db, ticker, trade_day - timedelta(hours=20))
    fundamentals = work / "fundamentals.json"
    fundamentals.write_text(json.dumps({t: {
        "pe_ratio": 15.0, "sector_median_pe": 15.0,
        "next_earnings": str(next_earnings_for(trade_day))} for t in tickers}))
    return trade_day, tickers, fundamentals


def start_servers(work: Path, transport: str) -> tuple[PostgresServer, str, RedisServer]:
    """A throwaway PostgreSQL (and its URL) and redis-server, reached by ``transport``:
    ``unix`` (Unix-domain sockets) or ``tcp`` (127.0.0.1)."""
    pg = PostgresServer()
    pg.start()
    rs = RedisServer(work / "redis", port=0 if transport == "unix" else free_port(),
                     persistent=False)
    rs.start()
    return pg, pg.socket_url if transport == "unix" else pg.url, rs


def _cpu_seconds(pid: str) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_groups(postmaster: int, redis_pid: int | None, workers: int) -> dict[str, list[str]]:
    """The processes of the run by what they are: PostgreSQL (the postmaster and its
    children), Redis, each worker (by queue) and this driver. Linux ``/proc`` only."""
    groups: dict[str, list[str]] = {"postgresql": [str(postmaster)], "redis": [],
                                    "driver": [str(os.getpid())]}
    if redis_pid is not None:
        groups["redis"].append(str(redis_pid))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if ppid == postmaster:
            groups["postgresql"].append(entry.name)
        elif ppid == workers and b"--one" in argv:
            queue = argv[argv.index(b"--one") + 1].decode()
            groups.setdefault(f"worker_{queue}", []).append(entry.name)
    return groups


def cpu_snapshot(groups: dict[str, list[str]]) -> dict[str, float]:
    return {name: sum(_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s at the rate instead of 20 s")
    parser.add_argument("--rate", type=float, default=500.0, help="jobs per second")
    parser.add_argument("--tickers", type=int, default=60)
    parser.add_argument("--concurrency", default="1",
                        help="worker processes per queue: N, or QUEUE=N,… (1 for the others)")
    parser.add_argument("--transport", choices=("unix", "tcp"), default="unix",
                        help="how workers reach PostgreSQL and Redis on this host: Unix-domain "
                             "sockets (the embedded default's transport) or TCP on 127.0.0.1")
    args = parser.parse_args()
    duration = 5.0 if args.quick else 20.0
    work = Path(tempfile.mkdtemp(prefix="bench-realtime-"))
    pg, pg_url, rs = start_servers(work, args.transport)
    workers: subprocess.Popen[bytes] | None = None
    try:
        db_url = pg_url
        upgrade(db_url)
        db = create_engine_for(db_url)
        trade_day, tickers, fundamentals = prepare(db, work, args.tickers)
        env = {**os.environ, "STONKS_DATABASE_URL": db_url, "STONKS_REDIS_URL": rs.url,
               "STONKS_FUNDAMENTALS_PATH": str(fundamentals), "STONKS_QUEUE_BLOCK_MS": "100",
               **{f"STONKS_{k.upper()}": str(v) for k, v in OPEN_RISK.items()},
               "STONKS_TRADING_WATERMARK_POLL_S": "3600",
               "STONKS_BROKER_POLL_INTERVAL_S": "3600"}
        workers = subprocess.Popen([sys.executable, "-m", "realtime.workers",
                                    "--concurrency", args.concurrency], env=env,
                                   start_new_session=True)
        client = redis.Redis.from_url(rs.url)
        producer = Producer(client, redis_keys.QueueName.AGGREGATION)
        # Warm-up: one job per ticker (worker start-up, bar loading, engine caches).
        producer.publish_many([AggregationJob(ticker=t, as_of=trade_day) for t in tickers])
        drain(client, 120)
        orders = table_of(Order)
        with db.connect() as conn:
            warm = conn.execute(sa.select(sa.func.max(orders.c.id))).scalar() or 0
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
        redis_pid = rs.status().pid if sys.platform == "linux" else None
        groups = cpu_groups(postmaster, redis_pid, workers.pid) if sys.platform == "linux" \
            else {}
        cpu_before = cpu_snapshot(groups)
        start = time.perf_counter()
        sent = 0
        tick = 0.01
        per_tick = args.rate * tick
        budget = 0.0
        while (elapsed := time.perf_counter() - start) < duration:
            budget += per_tick
            batch = []
            while budget >= 1:
                ticker = tickers[sent % len(tickers)]
                batch.append(AggregationJob(ticker=ticker, as_of=trade_day + timedelta(
                    microseconds=sent + 1)))
                sent += 1
                budget -= 1
            if batch:
                producer.publish_many(batch)
            next_tick = start + (elapsed // tick + 1) * tick
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        drain(client, 300)
        total = time.perf_counter() - start
        cpu_after = cpu_snapshot(groups)
        cores = {name: round((cpu_after[name] - cpu_before[name]) / total, 2) for name in groups}
        decisions, recommendations = table_of(TradingDecision), table_of(Recommendation)
        with db.connect() as conn:
            rows = conn.execute(
                sa.select(orders.c.filled_at, orders.c.raw, decisions.c.decided_at,
                          recommendations.c.created_at.label("recommended_at"))
                .join(decisions, decisions.c.id == orders.c.decision_id)
                .join(recommendations, recommendations.c.id == decisions.c.recommendation_id)
                .where(orders.c.id > warm, orders.c.filled_at.is_not(None))).all()
        origins = [datetime.fromisoformat(r.raw["origin_at"]) for r in rows]
        latencies = np.array([(r.filled_at - o).total_seconds() * 1000
                              for r, o in zip(rows, origins, strict=True)])
        # Where the time goes: job sent → recommendation stored (aggregation, both hops) →
        # decision taken (recommendation stage) → filled (trading's write and the broker).
        segments = {
            "to_recommendation": [r.recommended_at - o for r, o in zip(rows, origins,
                                                                         strict=True)],
            "to_decision": [r.decided_at - r.recommended_at for r in rows],
            "to_fill": [r.filled_at - r.decided_at for r in rows],
        }
        result = {
            "events_per_s": round(sent / total, 1), "jobs": sent, "orders_filled": len(rows),
            "e2e_p50_ms": round(float(np.percentile(latencies, 50)), 2) if len(rows) else None,
            "e2e_p99_ms": round(float(np.percentile(latencies, 99)), 2) if len(rows) else None,
            "segments_p50_ms": {
                name: round(float(np.percentile([d.total_seconds() * 1000 for d in values],
                                                50)), 2) if values else None
                for name, values in segments.items()},
            "cpu_cores": {**cores, "total": round(sum(cores.values()), 2)} if cores else None,
            "rate_offered": args.rate, "concurrency": args.concurrency,
            "transport": args.transport,
            "seconds": round(total, 2), "tickers": len(tickers),
            "targets": {"events_per_s": 500, "e2e_p50_ms": 5, "e2e_p99_ms": 25},
        }
        print(json.dumps(result))
        return 0
    finally:
        if workers is not None and workers.poll() is None:
            workers.send_signal(signal.SIGTERM)
            try:
                workers.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(workers.pid, signal.SIGKILL)
        rs.stop()
        pg.stop()


def drain(client: redis.Redis, timeout: float) -> None:
    """Wait until every real-time queue is empty and nothing is pending."""
    streams = [redis_keys.queue(q) for q in ("aggregation", "recommendation", "trading",
                                             "broker_orders")]
    deadline = time.monotonic() + timeout
    time.sleep(0.05)
    while time.monotonic() < deadline:
        pipe = client.pipeline(transaction=False)
        for stream in streams:
            pipe.xlen(stream)
        if sum(pipe.execute()) == 0:
            return
        time.sleep(0.02)
    raise RuntimeError("the pipeline did not drain in time")


if __name__ == "__main__":
    sys.exit(main())
