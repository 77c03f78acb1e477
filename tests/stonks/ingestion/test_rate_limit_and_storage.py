"""Token bucket, dedupe markers and the object store."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import redis

from stonks.ingestion.dedupe import DedupeMarkers
from stonks.ingestion.object_store import LocalObjectStore, raw_document_key
from stonks.ingestion.rate_limit import TokenBucket


def test_token_bucket_holds_the_rate_across_concurrent_callers(
    redis_client: redis.Redis,
) -> None:
    rate, callers, each = 20.0, 4, 10
    started = time.monotonic()
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        bucket = TokenBucket(redis_client, "test_api", rate=rate, capacity=1)
        for _ in range(each):
            bucket.acquire(timeout_s=10)
            with lock:
                stamps.append(time.monotonic() - started)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = callers * each
    # One token up front, then one per 1/rate seconds: 40 calls need at least 39/20 s.
    assert max(stamps) >= (total - 1) / rate * 0.9
    assert redis_client.exists("stonks:ratelimit:test_api")


def test_token_bucket_reports_the_wait(redis_client: redis.Redis) -> None:
    bucket = TokenBucket(redis_client, "slow_api", rate=1.0, capacity=1)
    assert bucket.try_acquire() == 0.0
    assert 0.5 < bucket.try_acquire() <= 1.0


def test_dedupe_markers_expire(redis_client: redis.Redis) -> None:
    markers = DedupeMarkers(redis_client, "document", ttl_s=60)
    markers.mark(["aa", "bb"])
    assert markers.seen(["aa", "cc", "bb"]) == {"aa", "bb"}
    assert 0 < redis_client.ttl("stonks:dedupe:document:aa") <= 60


def test_object_keys_are_deterministic_and_writes_atomic(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    key = raw_document_key("sample_news", datetime(2010, 1, 25, tzinfo=UTC), "ab" * 32, "json")
    assert key == f"raw/sample_news/2010/01/25/{'ab' * 32}.json"
    store.put(key, b"one")
    store.put(key, b"one")
    assert store.get(key) == b"one" and store.exists(key)
    assert [p.name for p in (tmp_path / "raw/sample_news/2010/01/25").iterdir()] == [
        f"{'ab' * 32}.json"]  # no temporary files left behind
