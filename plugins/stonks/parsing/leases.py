"""Row leases on ``documents``: claim a batch, keep others off it, recover crashed claims.

A claim moves rows from ``ingested`` (or ``parsing`` with a lapsed lease) to ``parsing`` with
an owner and an expiry, in one statement. On PostgreSQL the candidate rows are selected
``FOR UPDATE SKIP LOCKED``, so concurrent runs take disjoint batches without waiting; SQLite
serialises writers, which gives the same guarantee. A run that dies leaves rows whose
lease lapses; the next claim (or ``recover_expired_leases``) takes them again, up to
``max_attempts`` tries, after which they are marked ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.db.conflict import table_of
from stonks.models import Document, DocumentKind, DocumentStatus
from stonks.models.types import utcnow

DOCUMENTS = table_of(Document)


@dataclass(frozen=True)
class ClaimedDocument:
    """A document this worker holds the lease on, with what parsing needs."""

    id: int
    kind: DocumentKind
    content_type: str | None
    raw_object_key: str | None
    title: str | None
    published_at: datetime
    provider_data: dict[str, Any]


def claim_batch(
    engine: Engine, *, owner: str, limit: int, lease_s: float, max_attempts: int,
    now: datetime | None = None,
) -> list[ClaimedDocument]:
    """Lease up to ``limit`` documents waiting to be parsed, oldest first."""
    now = now or utcnow()
    d = DOCUMENTS.c
    waiting = sa.or_(
        d.status == DocumentStatus.INGESTED.value,
        sa.and_(d.status == DocumentStatus.PARSING.value, d.lease_expires_at < now),
    )
    candidates = (
        sa.select(d.id)
        .where(waiting, d.attempts < max_attempts)
        .order_by(d.published_at, d.id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        # SQLite has no row locks; its single writer lock gives the same exclusivity.
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(DOCUMENTS)
        .where(d.id.in_(candidates.scalar_subquery()))
        .values(status=DocumentStatus.PARSING.value, lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s), attempts=d.attempts + 1,
                updated_at=now)
        .returning(d.id, d.kind, d.content_type, d.raw_object_key, d.title, d.published_at,
                   d.provider_data)
    )
    with engine.begin() as conn:
        rows = conn.execute(statement).all()
    claimed = [
        ClaimedDocument(id=int(r.id), kind=DocumentKind(r.kind), content_type=r.content_type,
                        raw_object_key=r.raw_object_key, title=r.title,
                        published_at=r.published_at, provider_data=dict(r.provider_data or {}))
        for r in rows
    ]
    return sorted(claimed, key=lambda c: (c.published_at, c.id))


def owned_ids(conn: sa.Connection, owner: str, ids: list[int]) -> set[int]:
    """Which of ``ids`` this owner still leases (locking them for the caller's transaction)."""
    d = DOCUMENTS.c
    query = (
        sa.select(d.id)
        .where(d.id.in_(ids), d.lease_owner == owner, d.status == DocumentStatus.PARSING.value)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {int(i) for i in conn.execute(query).scalars()}


def recover_expired_leases(
    engine: Engine, *, max_attempts: int, now: datetime | None = None
) -> dict[str, int]:
    """Return lapsed ``parsing`` leases to ``ingested``, or mark them ``failed`` when spent."""
    now = now or utcnow()
    d = DOCUMENTS.c
    lapsed = sa.and_(d.status == DocumentStatus.PARSING.value, d.lease_expires_at < now)
    with engine.begin() as conn:
        failed = conn.execute(
            sa.update(DOCUMENTS).where(lapsed, d.attempts >= max_attempts).values(
                status=DocumentStatus.FAILED.value, lease_owner=None, lease_expires_at=None,
                error="lease expired after the last attempt", updated_at=now)
        ).rowcount
        released = conn.execute(
            sa.update(DOCUMENTS).where(lapsed).values(
                status=DocumentStatus.INGESTED.value, lease_owner=None, lease_expires_at=None,
                updated_at=now)
        ).rowcount
    return {"released": int(released), "failed": int(failed)}
