"""``python -m realtime.workers``: run the real-time workers as separate processes.

``--queues`` picks the queues (default: all; the thesis rewriter only when an LLM is
configured, so a no-LLM deployment runs no idle worker for it), ``--concurrency`` the
processes per queue: ``N`` for every queue, or ``queue=N,…`` for some (1 for the others);
each process is one consumer in the queue's group, so more processes scale out.
``--one QUEUE`` runs a single consumer in this process (what each child runs).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from realtime.workers.runtime import QUEUES, build_worker, default_queues
from stonks.config import get_settings
from stonks.db.engine import create_engine_for
from stonks.redis_client import connect

logger = logging.getLogger("realtime.workers")

#: Young-generation collections every 20,000 net allocations instead of 700: a batch
#: allocates thousands of short-lived objects, and each pass costs latency on the hot path.
GC_THRESHOLDS = (20_000, 20, 50)


def run_one(queue: str, slot: int) -> int:
    settings = get_settings()
    # No ping before every checkout (a round trip per transaction on the hot path): a
    # connection that died fails its batch, the pool drops it, and the queue retries.
    db = create_engine_for(settings.effective_database_url, pool_pre_ping=False)
    client = connect(settings=settings)
    name = f"{queue}-{socket.gethostname()}-{os.getpid()}-{slot}"
    worker = build_worker(queue, name, settings, db, client)
    # What start-up loaded (modules, settings, bar caches) lives as long as the process: keep
    # it out of the collector's full passes, which would otherwise show up as latency spikes.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    worker.consumer.install_signal_handlers()
    worker.run()
    client.close()
    db.dispose()
    return 0


def parse_concurrency(spec: str, queues: Sequence[str]) -> dict[str, int]:
    """Processes per queue from ``N`` (every queue) or ``queue=N,…`` (1 for the rest);
    ValueError says what is wrong."""
    spec = spec.strip()
    if spec.isdigit():
        counts = dict.fromkeys(queues, int(spec))
    else:
        counts = dict.fromkeys(queues, 1)
        for part in filter(None, (p.strip() for p in spec.split(","))):
            queue, sep, number = part.partition("=")
            queue, number = queue.strip(), number.strip()
            if not sep or not number.isdigit():
                raise ValueError(f"--concurrency: {part!r} is not QUEUE=N")
            if queue not in counts:
                raise ValueError(f"--concurrency: {queue!r} is not one of the queues run "
                                 f"({','.join(queues)})")
            counts[queue] = int(number)
    if any(n < 1 for n in counts.values()):
        raise ValueError("--concurrency must be >= 1 for every queue")
    return counts


def supervise(queues: dict[str, int]) -> int:
    """Run ``count`` worker processes for each queue; stop them all on SIGTERM/SIGINT or
    when one exits unexpectedly."""
    children: list[subprocess.Popen[bytes]] = []
    for queue, count in queues.items():
        for slot in range(count):
            children.append(subprocess.Popen(
                [sys.executable, "-m", "realtime.workers", "--one", queue, "--slot", str(slot)]))
    stopping = False

    def _forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    code = 0
    while children:
        for child in list(children):
            rc = child.poll()
            if rc is None:
                continue
            children.remove(child)
            if not stopping:
                logger.error("worker exited unexpectedly (rc=%s); stopping the rest", rc)
                code = rc or 1
                _forward(signal.SIGTERM, None)
        time.sleep(0.2)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stonks realtime workers",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queues", help=f"comma-separated subset of {','.join(QUEUES)} "
                                         "(default: all; thesis only with an LLM configured)")
    parser.add_argument("--concurrency", default="1",
                        help="processes per queue: N for every queue, or QUEUE=N,… (1 for "
                             "the others)")
    parser.add_argument("--one", metavar="QUEUE", help=argparse.SUPPRESS)
    parser.add_argument("--slot", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("STONKS_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.one:
        return run_one(args.one, args.slot)
    named = args.queues or ",".join(default_queues(get_settings()))
    queues = [q.strip() for q in named.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        parser.error(f"unknown queues {unknown}")
    try:
        counts = parse_concurrency(args.concurrency, queues)
    except ValueError as exc:
        parser.error(str(exc))
    return supervise(counts)


if __name__ == "__main__":
    sys.exit(main())
