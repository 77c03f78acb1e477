"""Overlapping backfills of the same window converge on the rows of a single run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from stonks.config import load_settings
from stonks.db import dispose_engines
from stonks.ingestion.jobs import ingest_company_news, ingest_filings, ingest_macro_news

START = datetime(2010, 1, 24, tzinfo=UTC)


def _snapshot(url: str) -> tuple[list[Any], list[Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            documents = conn.execute(sa.text(
                "SELECT d.content_hash, d.kind, d.raw_object_key, r.window_start "
                "FROM documents d JOIN ingestion_runs r ON r.id = d.ingestion_run_id "
                "ORDER BY d.content_hash")).all()
            runs = conn.execute(sa.text(
                "SELECT s.key, r.window_start, r.window_end, r.status FROM ingestion_runs r "
                "JOIN sources s ON s.id = r.source_id ORDER BY 1, 2")).all()
        return list(documents), list(runs)
    finally:
        engine.dispose()


def _backfill(settings: Any, first: int, last: int) -> None:
    for offset in range(first, last):
        start = START + timedelta(days=offset)
        end = start + timedelta(days=1)
        for job in (ingest_company_news, ingest_filings, ingest_macro_news):
            job(start, end, settings=settings, dag_run_id=f"backfill-{first}-{offset}")


def test_two_overlapping_backfills_leave_the_same_rows_as_one(
    pg_url: str, redis_url: str, tmp_path: Path, redis_client: Any,
) -> None:
    from stonks.db.migrate import upgrade

    single_url = pg_url
    upgrade(single_url)
    single = load_settings(database_url=single_url, redis_url=redis_url,
                           lake_path=str(tmp_path / "one"))
    _backfill(single, 0, 7)
    expected_documents, expected_runs = _snapshot(single_url)
    assert len(expected_documents) > 10

    # A second database, and Redis emptied so the markers cannot short-cut anything.
    admin = sa.create_engine(sa.make_url(single_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    other_name = sa.make_url(single_url).database + "_b"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{other_name}"'))
    other_url = sa.make_url(single_url).set(database=other_name).render_as_string(False)
    try:
        upgrade(other_url)
        redis_client.flushdb()
        both = load_settings(database_url=other_url, redis_url=redis_url,
                             lake_path=str(tmp_path / "two"))
        errors: list[BaseException] = []

        def run(first: int, last: int) -> None:
            try:
                _backfill(both, first, last)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(0, 5)),
                   threading.Thread(target=run, args=(2, 7))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        documents, runs = _snapshot(other_url)
        assert documents == expected_documents
        assert runs == expected_runs
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{other_name}" WITH (FORCE)'))
        admin.dispose()
