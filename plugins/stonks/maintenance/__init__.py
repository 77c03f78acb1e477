"""Pipeline maintenance: dead-letter inspection and replay, lease recovery, re-routing.

What the ``pipeline_maintenance`` DAG runs. Inspection is read-only; replay moves dead
letters of the named queues back (each exactly once, see ``DeadLetters.replay``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from stonks.config import Settings, get_settings
from stonks.db import get_engine
from stonks.models import DocumentKind, DocumentRoute, DocumentStatus
from stonks.models.types import utcnow
from stonks.parsing.leases import DOCUMENTS, recover_expired_leases
from stonks.parsing.routing import QUEUES, parsed_message
from stonks.queues import DeadLetters, Producer
from stonks.redis_client import connect
from stonks.redis_keys import QueueName

logger = logging.getLogger(__name__)

#: A parsed document not on its queue after this long was orphaned by a crash.
UNROUTED_GRACE = timedelta(minutes=10)


def inspect_dead_letters(*, settings: Settings | None = None, sample: int = 3) -> dict[str, Any]:
    """Dead-letter count and the oldest errors of every queue."""
    client = connect(settings=settings or get_settings())
    report: dict[str, Any] = {}
    for queue in QueueName:
        letters = DeadLetters(client, queue.value)
        count = letters.count()
        if count:
            report[queue.value] = {
                "count": count,
                "oldest": [{"id": d.dlq_id, "error": d.error[:300], "body": d.body_preview}
                           for d in letters.oldest(sample)],
            }
            logger.warning("dead letters waiting", extra={"queue": queue.value, "count": count})
    return report


def replay_dead_letters(
    queues: list[str], *, settings: Settings | None = None, limit: int = 1000
) -> dict[str, int]:
    """Move up to ``limit`` dead letters of each named queue back onto it."""
    client = connect(settings=settings or get_settings())
    known = {q.value for q in QueueName}
    unknown = sorted(set(queues) - known)
    if unknown:
        raise ValueError(f"unknown queues {unknown}; known: {sorted(known)}")
    return {queue: DeadLetters(client, queue).replay(limit=limit) for queue in queues}


def recover_leases(*, settings: Settings | None = None) -> dict[str, int]:
    """Release lapsed parse leases (or fail documents that used up their attempts)."""
    settings = settings or get_settings()
    engine = get_engine(settings.effective_database_url)
    return recover_expired_leases(engine, max_attempts=settings.parse_max_attempts)


def republish_unrouted(*, settings: Settings | None = None) -> int:
    """Re-publish parsed documents whose route message was never confirmed on a queue."""
    settings = settings or get_settings()
    engine = get_engine(settings.effective_database_url)
    client = connect(settings=settings)
    d = DOCUMENTS.c
    cutoff = utcnow() - UNROUTED_GRACE
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(d.id, d.kind, d.route, d.published_at, d.quality_score)
            .where(d.status == DocumentStatus.PARSED.value, d.route.is_not(None),
                   d.processed_at.is_(None), d.parsed_at < cutoff)
            .limit(5000)
        ).all()
    for row in rows:
        route = DocumentRoute(row.route)
        Producer(client, QUEUES[route]).publish(parsed_message(
            int(row.id), DocumentKind(row.kind), route, [], row.published_at,
            float(row.quality_score or 0.0)))
    if rows:
        with engine.begin() as conn:
            conn.execute(sa.update(DOCUMENTS).where(d.id.in_([int(r.id) for r in rows]))
                         .values(processed_at=utcnow()))
    return len(rows)
