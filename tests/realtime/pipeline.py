"""Test helpers: run the four workers in-process (one consumer each) until the queues drain."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy.engine import Engine

from realtime.replay import next_earnings_for
from realtime.workers.runtime import QUEUES, Worker, build_worker
from stonks.config import Settings


def write_fundamentals(path: Path, tickers: tuple[str, ...], moment: datetime) -> Path:
    """Known valuation (P/E at the sector median) and earnings far from the trade day."""
    earnings = next_earnings_for(moment).isoformat()
    path.write_text(json.dumps({t: {"pe_ratio": 15.0, "sector_median_pe": 15.0,
                                    "next_earnings": earnings} for t in tickers}))
    return path


def build_all(settings: Settings, db: Engine, client: redis.Redis) -> dict[str, Worker]:
    workers = {}
    for queue in reversed(QUEUES):  # broker first: it reconciles the account at start-up
        workers[queue] = build_worker(queue, f"test-{queue}", settings, db, client)
        workers[queue].consumer.ensure_group()
    return workers


def drain(workers: dict[str, Worker], rounds: int = 20) -> None:
    """Run each consumer once per round, in pipeline order, until nothing is left."""
    for _ in range(rounds):
        worked = sum(workers[q].consumer.run_once() for q in QUEUES)
        if not worked:
            return
