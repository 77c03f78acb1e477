"""``stonks realtime workers|api``: start the real-time tier as separate processes.

``stonks`` never imports the real-time tier (or FastAPI): these commands exec
``python -m realtime.workers`` / ``python -m realtime.api`` with the arguments given.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _exec(module: str, args: list[str]) -> int:
    argv = [sys.executable, "-m", module, *args]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return


def _workers(args: argparse.Namespace) -> int:
    extra = []
    if args.queues:
        extra += ["--queues", args.queues]
    extra += ["--concurrency", args.concurrency]
    return _exec("realtime.workers", extra)


def _api(args: argparse.Namespace) -> int:
    extra = []
    if args.host:
        extra += ["--host", args.host]
    if args.port:
        extra += ["--port", str(args.port)]
    return _exec("realtime.api", extra)


def register(commands: Any) -> None:
    parser = commands.add_parser("realtime", help="run the real-time tier (workers, API)")
    sub = parser.add_subparsers(dest="realtime_command", required=True, metavar="WHAT")
    workers = sub.add_parser("workers", help="queue workers as separate processes")
    workers.add_argument("--queues", help="comma-separated: aggregation,recommendation,"
                                          "trading,broker_orders,thesis (default: all; "
                                          "thesis only when an LLM is configured)")
    workers.add_argument("--concurrency", default="1",
                         help="processes per queue: N for every queue, or QUEUE=N,… (1 for "
                              "the others), e.g. broker_orders=2")
    workers.set_defaults(handler=_workers)
    api = sub.add_parser("api", help="the control API under uvicorn")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(handler=_api)
