"""Consumer processes against a real Redis and PostgreSQL: crashes, SIGTERM, 10k messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from stonks import redis_keys
from stonks.queues import DEFAULT_GROUP, Producer
from tests.stonks.queues.effects import QUEUE, EffectMessage, create_tables

REPO = Path(__file__).resolve().parents[3]


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url)
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def start_worker(redis_url: str, pg_url: str) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *extra: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.stonks.queues.worker_process",
                "--redis-url",
                redis_url,
                "--database-url",
                pg_url,
                "--name",
                name,
                *extra,
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def scalar(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def pending(client: redis.Redis) -> int:
    try:
        return int(client.xpending(redis_keys.queue(QUEUE), DEFAULT_GROUP)["pending"])
    except redis.ResponseError:  # the worker has not created the group yet
        return -1


def test_consumer_killed_after_commit_loses_nothing_and_effect_lands_once(
    engine: sa.Engine,
    redis_client: redis.Redis,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    Producer(redis_client, QUEUE).publish_many(
        EffectMessage(seq=i, crash_after_commit=(i == 10)) for i in range(50)
    )
    doomed = start_worker("doomed", "--marker-dir", str(tmp_path), "--batch-size", "20")
    wait_for(lambda: (tmp_path / "doomed.committed").exists(), 30, "the doomed worker's commit")
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    stranded = pending(redis_client)
    assert stranded > 0, "the killed worker should have left unacknowledged entries"

    start_worker("rescuer", "--visibility-timeout", "1", "--reclaim-interval", "0.2")
    wait_for(
        lambda: (
            scalar(engine, "select count(*) from queue_test_effects") == 50
            and pending(redis_client) == 0
            and redis_client.xlen(redis_keys.queue(QUEUE)) == 0
        ),
        60,
        "all 50 effects and an empty queue",
    )
    assert scalar(engine, "select count(distinct seq) from queue_test_effects") == 50
    # The crashed batch ran twice (once per worker) but its effect landed once.
    assert (
        scalar(
            engine,
            "select count(*) from queue_test_runs where consumer = 'rescuer' and "
            "message_id in (select message_id from queue_test_effects where consumer = 'doomed')",
        )
        == stranded
    )
    assert redis_client.xlen(redis_keys.dlq(QUEUE)) == 0


def test_sigterm_finishes_the_message_in_hand_acks_it_and_exits_cleanly(
    engine: sa.Engine,
    redis_client: redis.Redis,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    Producer(redis_client, QUEUE).publish(EffectMessage(seq=1, sleep_before_commit_s=1.5))
    worker = start_worker("graceful")
    wait_for(lambda: pending(redis_client) == 1, 30, "the worker to take the message")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert scalar(engine, "select count(*) from queue_test_effects") == 1
    assert pending(redis_client) == 0
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 0


@pytest.mark.slow
def test_ten_thousand_messages_through_two_processes_land_exactly_once(
    engine: sa.Engine,
    redis_client: redis.Redis,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    total = 10_000
    Producer(redis_client, QUEUE).publish_many(EffectMessage(seq=i) for i in range(total))
    workers = [start_worker("w1"), start_worker("w2")]
    wait_for(
        lambda: (
            scalar(engine, "select count(*) from queue_test_effects") == total
            and pending(redis_client) == 0
        ),
        180,
        f"{total} effects",
    )
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    assert [worker.wait(timeout=30) for worker in workers] == [0, 0]

    assert scalar(engine, "select count(distinct seq) from queue_test_effects") == total
    assert scalar(engine, "select min(seq) from queue_test_effects") == 0
    assert scalar(engine, "select max(seq) from queue_test_effects") == total - 1
    # No crash, so no redelivery: every message's handler ran exactly once.
    assert scalar(engine, "select count(*) from queue_test_runs") == total
    assert scalar(engine, "select count(distinct consumer) from queue_test_runs") == 2
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 0
    assert redis_client.xlen(redis_keys.dlq(QUEUE)) == 0
