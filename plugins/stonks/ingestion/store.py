"""Database writes of ingestion: sources, ingestion runs and documents, all idempotent.

Runs are keyed by (source, window) and documents by content hash, so re-running a window,
or two overlapping backfills running at once, converge on the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.db.conflict import conflict_insert, table_of
from stonks.ingestion.dedupe import DedupeMarkers
from stonks.ingestion.object_store import ObjectStore, raw_document_key
from stonks.models import Document, DocumentStatus, IngestionRun, IngestionStatus, Source
from stonks.models.sources import SourceKind
from stonks.models.types import utcnow
from stonks.sources.records import FetchedDocument

logger = logging.getLogger(__name__)

_SOURCES = table_of(Source)
_RUNS = table_of(IngestionRun)
_DOCUMENTS = table_of(Document)


def upsert(engine: Engine, table: sa.Table) -> Any:
    """The dialect's ``INSERT`` that supports ``ON CONFLICT`` (PostgreSQL or SQLite)."""
    return conflict_insert(engine.dialect.name, table)


def ensure_source(
    engine: Engine, *, key: str, name: str, kind: SourceKind, base_url: str | None = None
) -> int:
    """The id of source ``key``, creating or renaming it as needed."""
    statement = upsert(engine, _SOURCES).values(key=key, name=name, kind=kind.value,
                                                base_url=base_url, enabled=True, config={})
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"name": name, "base_url": base_url, "updated_at": utcnow()}
    ).returning(_SOURCES.c.id)
    with engine.begin() as conn:
        return int(conn.execute(statement).scalar_one())


def begin_run(
    engine: Engine, *, source_id: int, start: datetime, end: datetime, dag_run_id: str | None
) -> int:
    """Open (or reopen, counting the attempt) the ingestion run of one window; its id."""
    now = utcnow()
    statement = upsert(engine, _RUNS).values(
        source_id=source_id, window_start=start, window_end=end,
        status=IngestionStatus.RUNNING.value, attempts=1, started_at=now, dag_run_id=dag_run_id,
        details={},
    )
    statement = statement.on_conflict_do_update(
        index_elements=["source_id", "window_start", "window_end"],
        set_={
            "status": IngestionStatus.RUNNING.value,
            "attempts": _RUNS.c.attempts + 1,
            "started_at": now,
            "finished_at": None,
            "error": None,
            "dag_run_id": dag_run_id,
            "updated_at": now,
        },
    ).returning(_RUNS.c.id)
    with engine.begin() as conn:
        return int(conn.execute(statement).scalar_one())


@dataclass(frozen=True)
class RunOutcome:
    """What one window's ingestion did."""

    run_id: int
    fetched: int
    stored: int
    duplicate: int


def finish_run(
    engine: Engine, run_id: int, *, status: IngestionStatus, fetched: int = 0, stored: int = 0,
    duplicate: int = 0, error: str | None = None, details: dict[str, Any] | None = None,
) -> None:
    """Close an ingestion run with its counts (or its error)."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": status.value, "finished_at": now, "updated_at": now, "error": error,
        "items_fetched": fetched, "items_stored": stored, "items_duplicate": duplicate,
    }
    if details is not None:
        values["details"] = details
    with engine.begin() as conn:
        conn.execute(sa.update(_RUNS).where(_RUNS.c.id == run_id).values(**values))


def store_documents(
    engine: Engine,
    store: ObjectStore,
    markers: DedupeMarkers,
    *,
    run_id: int,
    source_id: int,
    documents: Sequence[FetchedDocument],
) -> tuple[int, int]:
    """Write payloads, then insert new documents in one transaction; (stored, duplicate).

    Duplicates within the batch, behind a Redis marker or already in the table are counted
    and skipped; ``ON CONFLICT (content_hash) DO NOTHING`` settles races with a concurrent
    run of an overlapping window.
    """
    unique: dict[str, FetchedDocument] = {}
    for document in documents:
        unique.setdefault(document.content_hash, document)
    seen = markers.seen(list(unique))
    candidates = {h: d for h, d in unique.items() if h not in seen}
    if candidates:
        with engine.connect() as conn:
            existing = set(conn.execute(
                sa.select(_DOCUMENTS.c.content_hash).where(
                    _DOCUMENTS.c.content_hash.in_(list(candidates))
                )
            ).scalars())
        candidates = {h: d for h, d in candidates.items() if h not in existing}
    rows = []
    now = utcnow()
    for content_hash, document in candidates.items():
        key = raw_document_key(document.source_key, document.published_at, content_hash,
                               document.extension)
        store.put(key, document.payload)  # deterministic key: a retry overwrites the same
        rows.append({
            "source_id": source_id, "ingestion_run_id": run_id, "kind": document.kind.value,
            "external_id": document.external_id[:255], "url": document.url,
            "title": document.title, "author": document.author,
            "published_at": document.published_at, "content_hash": content_hash,
            "raw_object_key": key, "content_type": document.content_type,
            "provider_data": document.provider_data, "fetched_at": now,
            "status": DocumentStatus.INGESTED.value, "attempts": 0,
        })
    stored = 0
    if rows:
        statement = upsert(engine, _DOCUMENTS).values(rows).on_conflict_do_nothing(
            index_elements=["content_hash"]
        ).returning(_DOCUMENTS.c.id)
        with engine.begin() as conn:
            stored = len(conn.execute(statement).all())
    markers.mark(unique)
    duplicate = len(documents) - stored
    logger.info("documents stored", extra={"run_id": run_id, "stored": stored,
                                           "duplicate": duplicate})
    return stored, duplicate
