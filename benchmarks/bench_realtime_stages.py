"""Where the real-time path spends its time: each stage in one process, per batch size.

Same set-up as ``bench_realtime.py`` (throwaway PostgreSQL and redis-server, tickers the
signal engine rates BUY, risk opened up so every job trades), but the four consumers run
in this process one after another, so each stage is timed alone: milliseconds per event
and SQL round trips per batch (``statements_per_batch``: what the driver was sent, one
string each, which may hold several statements), at batches of 1, 10 and 50 jobs. At a
batch of 1 the sum of the stages is the latency floor of the multi-process pipeline; at 50
it is close to the CPU cost per event under load. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_realtime import OPEN_RISK, prepare, start_servers

from realtime.workers.runtime import default_queues
from stonks import redis_keys
from stonks.db.engine import create_engine_for
from stonks.db.migrate import upgrade
from stonks.queues import Producer
from stonks.weighted_signals import AggregationJob
from tests.realtime.conftest import (
    make_settings,
)
from tests.realtime.pipeline import build_all


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds per batch size")
    parser.add_argument("--transport", choices=("unix", "tcp"), default="unix",
                        help="Unix-domain sockets (as bench_realtime.py) or TCP on 127.0.0.1")
    args = parser.parse_args()
    rounds = {1: 20, 10: 6, 50: 2} if args.quick else {1: 60, 10: 20, 50: 6}
    work = Path(tempfile.mkdtemp(prefix="bench-stages-"))
    pg, url, rs = start_servers(work, args.transport)
    try:
        upgrade(url)
        db = create_engine_for(url, pool_pre_ping=False)  # as the workers run it
        day, tickers, fundamentals = prepare(db, work, 40)
        settings = make_settings(url, rs.url, fundamentals_path=fundamentals, **OPEN_RISK)
        client = redis.Redis.from_url(rs.url)
        workers = build_all(settings, db, client)
        queues = default_queues(settings)
        producer = Producer(client, redis_keys.QueueName.AGGREGATION)
        statements: Counter[str] = Counter()
        current = ["setup"]

        @sa.event.listens_for(db, "before_cursor_execute")
        def _count(*_: Any) -> None:
            statements[current[0]] += 1

        sent = 0

        def run(batch: int, times: int) -> dict[str, Any]:
            nonlocal sent
            spent: Counter[str] = Counter()
            statements.clear()
            for _ in range(times):
                jobs = []
                for _ in range(batch):
                    sent += 1
                    jobs.append(AggregationJob(ticker=tickers[sent % len(tickers)],
                                               as_of=day + timedelta(microseconds=sent)))
                producer.publish_many(jobs)
                for queue in queues:
                    current[0] = queue
                    start = time.perf_counter()
                    while client.xlen(redis_keys.queue(queue)):
                        workers[queue].consumer.run_once()
                    spent[queue] += time.perf_counter() - start
            events = batch * times
            stages = {q: {"ms_per_event": round(spent[q] / events * 1000, 3),
                          "statements_per_batch": round(statements[q] / times, 1)}
                      for q in queues}
            total = round(sum(spent.values()) / events * 1000, 3)
            print(f"batch {batch:>3}: " + ", ".join(
                f"{q} {s['ms_per_event']:.2f} ms/event ({s['statements_per_batch']:.0f} stmts)"
                for q, s in stages.items()) + f"; total {total:.2f} ms/event", flush=True)
            return {"stages": stages, "ms_per_event": total}

        run(1, len(tickers))  # warm-up: bars, engine caches per ticker, compiled statements
        result = {f"batch_{b}": run(b, n) for b, n in rounds.items()}
        print(json.dumps(result))
        return 0
    finally:
        rs.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
