"""The latency floor of the real-time path's shape on this machine: stages that do no work.

Same servers and transport as ``bench_realtime.py`` and the same queue library (consumer
groups, versioned pydantic messages, acknowledgement after the handler, the ``Outbox``),
but each stage's handler only does what every stage of the real path must do at least:
write its batch to PostgreSQL on a kept autocommit session (``--statements`` statements
per batch, each one prepared ``INSERT … ON CONFLICT DO NOTHING`` of one row per job; the
real path sends 2 / 1 / 2 / 4) and hand each job to the next stage's queue. The last stage
stamps each job's arrival on a Redis stream.

Latency is that stamp minus the job's ``created_at`` (stamped just before XADD), as in
``bench_realtime.py``. Whatever the real stages add (signal engine, gates, risk, booking)
comes on top of this floor, so a floor near the target leaves the business logic nothing.
``cpu_cores`` is the CPU each process group used over the run, read from /proc (Linux).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
import redis
import sqlalchemy as sa
from pydantic import AwareDatetime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_realtime import cpu_groups, cpu_snapshot, start_servers

from realtime.kept_connection import KeptConnection
from realtime.prepared import PreparedStatement, document
from stonks import redis_keys
from stonks.db.engine import create_engine_for
from stonks.queues import Consumer, ConsumerConfig, Delivery, Outbox, Producer, QueueMessage

STAGES = 4
DONE_STREAM = "bench:floor:done"

WRITE = PreparedStatement(
    name="bench_floor_write",
    prepare=("PREPARE bench_floor_write(json) AS INSERT INTO bench_floor_rows "
             "(stage, seq, n, origin_at) SELECT stage, seq, n, origin_at "
             "FROM json_to_recordset($1) AS r(stage int, seq bigint, n int, "
             "origin_at timestamptz) ON CONFLICT DO NOTHING"),
    execute="EXECUTE bench_floor_write(%(rows)s)")

TABLE = ("CREATE TABLE IF NOT EXISTS bench_floor_rows (stage int NOT NULL, seq bigint NOT NULL, "
         "n int NOT NULL, origin_at timestamptz NOT NULL, "
         "stamped_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
         "PRIMARY KEY (stage, seq, n))")


class FloorJob(QueueMessage):
    """One job travelling the four stages; ``origin_at`` is when the driver sent it."""

    SCHEMA: ClassVar[str] = "bench.floor_job"

    seq: int
    origin_at: AwareDatetime


def per_stage(text: str) -> tuple[int, ...]:
    """``N`` (each of the four stages) or one count per stage, comma-separated (as many
    stages as counts)."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        counts = ()
    if len(counts) == 1:
        counts *= STAGES
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(f"expected N or counts >= 0 per stage, got {text!r}")
    return counts


def queue_of(stage: int) -> str:
    return f"bench_floor_{stage}"


def serve_stage(stage: int, stages: int, db_url: str, redis_url: str,
                statements: int) -> None:
    """Run stage ``stage`` (1-based) of ``stages`` until SIGTERM."""
    client = redis.Redis.from_url(redis_url)
    kept = KeptConnection(create_engine_for(db_url, pool_pre_ping=False))
    outbox = Outbox()
    next_stream = redis_keys.queue(queue_of(stage + 1))

    def handle(deliveries: Sequence[Delivery[FloorJob]]) -> None:
        jobs = [d.message for d in deliveries]
        for n in range(statements):
            rows = document([{"stage": stage, "seq": j.seq, "n": n,
                              "origin_at": j.origin_at} for j in jobs])
            kept.run(WRITE, {"rows": rows})
        if stage < stages:
            outbox.publish(client, [(next_stream, FloorJob(seq=j.seq, origin_at=j.origin_at)
                                     .to_fields()) for j in jobs])
        else:
            now = str(time.time())
            outbox.publish(client, [(DONE_STREAM, {"origin": str(j.origin_at.timestamp()),
                                                   "done": now}) for j in jobs])

    consumer = Consumer(client, queue_of(stage), FloorJob, handle,
                        consumer_name=f"floor-{stage}", outbox=outbox,
                        config=ConsumerConfig(block_ms=100))
    consumer.ensure_group()
    consumer.install_signal_handlers()
    try:
        consumer.run()
    finally:
        kept.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s at the rate instead of 20 s")
    parser.add_argument("--rate", type=float, default=500.0, help="jobs per second")
    parser.add_argument("--statements", type=per_stage, default=(1,) * STAGES,
                        help="statements per batch: N for each of four stages, or one count "
                             "per stage (2,1,2,4 is the real path's; 3,4 would be two "
                             "stages); 0: no database")
    parser.add_argument("--transport", choices=("unix", "tcp"), default="unix")
    parser.add_argument("--serve-stage", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stage:
        logging.basicConfig(level=logging.WARNING)
        serve_stage(args.serve_stage, len(args.statements), args.db, args.redis,
                    args.statements[args.serve_stage - 1])
        return 0
    duration = 5.0 if args.quick else 20.0
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    pg, db_url, rs = start_servers(work, args.transport)
    stages: list[subprocess.Popen[bytes]] = []
    try:
        db = create_engine_for(db_url)
        with db.begin() as conn:
            conn.execute(sa.text(TABLE))
        db.dispose()
        stages = [subprocess.Popen([sys.executable, __file__, "--serve-stage", str(k),
                                    "--db", db_url, "--redis", rs.url,
                                    "--statements", ",".join(map(str, args.statements))])
                  for k in range(1, len(args.statements) + 1)]
        client = redis.Redis.from_url(rs.url)
        producer = Producer(client, queue_of(1))
        seq = 0

        def send(count: int) -> None:
            nonlocal seq
            jobs = []
            for _ in range(count):
                seq += 1
                jobs.append(FloorJob(seq=seq, origin_at=datetime.now().astimezone()))
            producer.publish_many(jobs)

        send(50)  # warm-up: start-up, groups, prepared statements
        wait_done(client, 50, 60)
        client.delete(DONE_STREAM)
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
        groups = cpu_groups(postmaster, rs.status().pid, 0)
        for k, process in enumerate(stages, 1):
            groups[f"stage_{k}"] = [str(process.pid)]
        cpu_before = cpu_snapshot(groups)
        start = time.perf_counter()
        sent, tick, budget = 0, 0.01, 0.0
        while (elapsed := time.perf_counter() - start) < duration:
            budget += args.rate * tick
            if (count := int(budget)) > 0:
                send(count)
                sent += count
                budget -= count
            next_tick = start + (elapsed // tick + 1) * tick
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        wait_done(client, sent, 120)
        total = time.perf_counter() - start
        cpu_after = cpu_snapshot(groups)
        cores = {name: round((cpu_after[name] - cpu_before[name]) / total, 2) for name in groups}
        done = client.xrange(DONE_STREAM) or []
        latencies = np.array([(float(f[b"done"]) - float(f[b"origin"])) * 1000
                              for _, f in done if f is not None])
        print(json.dumps({
            "events_per_s": round(sent / total, 1), "jobs": sent, "arrived": len(latencies),
            "e2e_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "e2e_p99_ms": round(float(np.percentile(latencies, 99)), 2),
            "statements_per_batch": list(args.statements), "stages": len(args.statements),
            "cpu_cores": {**cores, "total": round(sum(cores.values()), 2)},
            "rate_offered": args.rate, "transport": args.transport,
            "seconds": round(total, 2),
            "targets_of_the_real_path": {"events_per_s": 500, "e2e_p50_ms": 5,
                                         "e2e_p99_ms": 25}}))
        return 0
    finally:
        for process in stages:
            process.send_signal(signal.SIGTERM)
        for process in stages:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        rs.stop()
        pg.stop()


def wait_done(client: redis.Redis, count: int, timeout: float) -> None:
    """Wait until ``count`` jobs have arrived at the end of the pipeline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.xlen(DONE_STREAM) >= count:
            return
        time.sleep(0.02)
    raise RuntimeError(f"only {client.xlen(DONE_STREAM)} of {count} jobs arrived in time")


if __name__ == "__main__":
    sys.exit(main())
