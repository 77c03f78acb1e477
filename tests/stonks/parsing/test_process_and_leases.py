"""The parse stage on PostgreSQL: leases, concurrent runs, crash recovery, routing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from stonks.config import Settings, load_settings
from stonks.db import dispose_engines, get_engine
from stonks.ingestion.jobs import ingest_company_news, ingest_filings, ingest_macro_news
from stonks.models.types import utcnow
from stonks.parsing.leases import claim_batch, recover_expired_leases
from stonks.parsing.process import process_documents

START = datetime(2010, 1, 25, tzinfo=UTC)


@pytest.fixture
def settings(migrated_pg_url: str, redis_url: str, tmp_path: Path) -> Any:
    value = load_settings(database_url=migrated_pg_url, redis_url=redis_url,
                          lake_path=str(tmp_path / "lake"), parse_batch_size=3)
    yield value
    dispose_engines()


def _ingest(settings: Settings, days: int = 5) -> None:
    end = START + timedelta(days=days)
    for job in (ingest_company_news, ingest_filings, ingest_macro_news):
        job(START, end, settings=settings)


def _documents(settings: Settings) -> list[Any]:
    with get_engine(settings.effective_database_url).connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT id, status, route, attempts, lease_owner, quality_score, duplicate_of_id, "
            "processed_at FROM documents ORDER BY id")).all())


def test_concurrent_runs_process_every_document_exactly_once(settings: Settings) -> None:
    _ingest(settings)
    total = len(_documents(settings))
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda n=n: results.append(
        process_documents(settings=settings, owner=f"run-{n}"))) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    documents = _documents(settings)
    assert all(d.status in ("parsed", "skipped") for d in documents)
    assert all(d.attempts == 1 and d.lease_owner is None for d in documents)
    assert sum(r["claimed"] for r in results) == total
    client = redis.Redis.from_url(settings.effective_redis_url)
    routed = [d for d in documents if d.route is not None]
    assert client.xlen("stonks:queue:extraction") + client.xlen(
        "stonks:queue:macro_classification") == len(routed)
    assert all(d.processed_at is not None for d in routed)
    assert {d.route for d in routed} == {"extraction", "macro"}
    with get_engine(settings.effective_database_url).connect() as conn:
        apple = conn.execute(sa.text(
            "SELECT count(*) FROM document_company_mentions WHERE ticker = 'AAPL'")).scalar_one()
    assert apple >= 3


def test_a_crashed_runs_documents_are_picked_up_after_the_lease_lapses(
    settings: Settings,
) -> None:
    _ingest(settings, days=1)
    engine = get_engine(settings.effective_database_url)
    crashed = claim_batch(engine, owner="crashed", limit=100, lease_s=300, max_attempts=3)
    assert crashed
    # While the lease holds, another run finds nothing to do.
    assert process_documents(settings=settings, owner="early")["claimed"] == 0
    # The crashed run's lease lapses; the next run takes the documents over.
    later = utcnow() + timedelta(minutes=10)
    retaken = claim_batch(engine, owner="rescuer", limit=100, lease_s=300, max_attempts=3,
                          now=later)
    assert {d.id for d in retaken} == {d.id for d in crashed}
    assert all(d.attempts == 2 and d.lease_owner == "rescuer" for d in _documents(settings))


def test_expired_leases_are_released_or_failed_after_the_last_attempt(
    settings: Settings,
) -> None:
    _ingest(settings, days=1)
    engine = get_engine(settings.effective_database_url)
    claim_batch(engine, owner="a", limit=100, lease_s=1, max_attempts=2)
    later = utcnow() + timedelta(minutes=1)
    assert recover_expired_leases(engine, max_attempts=2, now=later)["released"] > 0
    claim_batch(engine, owner="b", limit=100, lease_s=1, max_attempts=2)
    result = recover_expired_leases(engine, max_attempts=2, now=later + timedelta(minutes=1))
    assert result["failed"] > 0 and result["released"] == 0
    assert {d.status for d in _documents(settings)} == {"failed"}


def test_a_run_that_lost_its_lease_writes_nothing(settings: Settings) -> None:
    from stonks.ingestion.object_store import object_store
    from stonks.parsing.process import (
        NearDuplicateIndex,
        _persist,
        load_detector,
        parse_batch,
    )

    _ingest(settings, days=1)
    engine = get_engine(settings.effective_database_url)
    stale = claim_batch(engine, owner="slow", limit=100, lease_s=1, max_attempts=3)
    claim_batch(engine, owner="fast", limit=100, lease_s=300, max_attempts=3,
                now=utcnow() + timedelta(seconds=5))
    client = redis.Redis.from_url(settings.effective_redis_url)
    results = parse_batch(stale, object_store(settings), load_detector(engine),
                          NearDuplicateIndex(client))
    assert _persist(engine, "slow", results) == []
    assert all(d.status == "parsing" and d.lease_owner == "fast" for d in _documents(settings))


def test_near_duplicate_stories_are_marked_and_not_routed_twice(settings: Settings) -> None:
    _ingest(settings, days=5)
    process_documents(settings=settings)
    with get_engine(settings.effective_database_url).connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT d.status, d.route, o.title AS original, d.provider_data "
            "FROM documents d JOIN documents o ON o.id = d.duplicate_of_id")).all()
    (copy,) = rows  # the syndicated copy of the Microsoft story in the sample corpus
    assert copy.status == "skipped" and copy.route is None
    assert copy.original == "Microsoft profit jumps 60% on Windows 7"
    assert copy.provider_data["publisher"] == "Sample Syndicate"


def test_reparsing_the_same_window_claims_nothing_new(settings: Settings) -> None:
    _ingest(settings, days=1)
    process_documents(settings=settings)
    # Re-ingesting gives nothing new; a second pass has nothing to claim.
    _ingest(settings, days=1)
    assert process_documents(settings=settings)["claimed"] == 0
