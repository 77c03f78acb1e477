"""A test message type and an idempotent PostgreSQL handler for the queue tests.

The handler records every run in ``queue_test_runs`` (no uniqueness: it shows redeliveries)
and the effect in ``queue_test_effects`` (unique per message: what must land exactly once),
both in one transaction that commits before the consumer acknowledges.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from stonks.queues import Delivery, QueueMessage

QUEUE = "test_effects"


class EffectMessage(QueueMessage):
    SCHEMA = "test.effect"
    VERSION = 1

    seq: int
    crash_after_commit: bool = False
    sleep_before_commit_s: float = 0.0


SCHEMA_SQL = [
    """CREATE TABLE IF NOT EXISTS queue_test_effects (
           message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, consumer TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS queue_test_runs (
           id BIGSERIAL PRIMARY KEY, message_id TEXT NOT NULL, consumer TEXT NOT NULL)""",
]


def create_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for statement in SCHEMA_SQL:
            conn.execute(sa.text(statement))


class EffectHandler:
    """Writes the effect of a batch in one transaction; optionally 'crashes' after commit."""

    def __init__(self, engine: sa.Engine, consumer: str, marker_dir: Path | None = None) -> None:
        self.engine = engine
        self.consumer = consumer
        self.marker_dir = marker_dir

    def __call__(self, deliveries: Sequence[Delivery[EffectMessage]]) -> None:
        rows = [
            {"m": d.message.message_id, "s": d.message.seq, "c": self.consumer} for d in deliveries
        ]
        time.sleep(max(d.message.sleep_before_commit_s for d in deliveries))
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO queue_test_effects (message_id, seq, consumer) "
                    "VALUES (:m, :s, :c) ON CONFLICT (message_id) DO NOTHING"
                ),
                rows,
            )
            conn.execute(
                sa.text("INSERT INTO queue_test_runs (message_id, consumer) VALUES (:m, :c)"),
                rows,
            )
        if self.marker_dir and any(d.message.crash_after_commit for d in deliveries):
            # Committed but not yet acknowledged: the test SIGKILLs us here.
            (self.marker_dir / f"{self.consumer}.committed").write_text(str(os.getpid()))
            time.sleep(120)
