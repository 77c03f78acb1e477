"""The documents the signal stage works on: pending lists, per-document leases, outcomes.

A parsed document is pending until extraction (or macro classification) stores its signals
(``extracted``) or gives up (``failed`` with the reason). While one run works on it the
row is ``extracting`` with an owner and a lease expiry, so a concurrent run skips it and a
crashed run's claim lapses. A document left because the token budget ran out, or because
the LLM was unreachable, goes back to ``parsed``: the next run picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.db.conflict import table_of
from stonks.extraction.lexicon import MentionedCompany
from stonks.models import (
    AgentPerformanceLog,
    DocumentCompanyMention,
    DocumentRoute,
    DocumentStatus,
)
from stonks.models.agents import CallOutcome
from stonks.models.types import utcnow
from stonks.parsing.leases import DOCUMENTS

_MENTIONS = table_of(DocumentCompanyMention)
_LOG = table_of(AgentPerformanceLog)


@dataclass(frozen=True)
class WorkDocument:
    """A claimed document with the text and mentions extraction needs."""

    id: int
    route: DocumentRoute
    title: str | None
    text: str
    published_at: datetime
    companies: tuple[MentionedCompany, ...]
    company_ids: dict[str, int]


def _pending(now: datetime) -> sa.ColumnElement[bool]:
    d = DOCUMENTS.c
    return sa.and_(
        d.route.is_not(None), d.processed_at.is_not(None),
        sa.or_(d.status == DocumentStatus.PARSED.value,
               sa.and_(d.status == DocumentStatus.EXTRACTING.value, d.lease_expires_at < now)))


def pending_documents(engine: Engine, route: DocumentRoute, *, limit: int) -> list[int]:
    """Ids of pending documents of one route, oldest first."""
    d = DOCUMENTS.c
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(
            sa.select(d.id).where(_pending(utcnow()), d.route == route.value)
            .order_by(d.published_at, d.id).limit(limit)).scalars()]


def claim_document(engine: Engine, document_id: int, *, owner: str,
                   lease_s: float) -> WorkDocument | None:
    """Lease one pending document and load it; None if it is done or leased elsewhere."""
    now = utcnow()
    d = DOCUMENTS.c
    with engine.begin() as conn:
        claimed = conn.execute(
            sa.update(DOCUMENTS).where(d.id == document_id, _pending(now))
            .values(status=DocumentStatus.EXTRACTING.value, lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now))
        if claimed.rowcount != 1:
            return None
        row = conn.execute(sa.select(d.id, d.route, d.title, d.text, d.published_at)
                           .where(d.id == document_id)).one()
        mentions = conn.execute(
            sa.select(_MENTIONS).where(_MENTIONS.c.document_id == document_id)
            .order_by(_MENTIONS.c.is_primary.desc(), _MENTIONS.c.ticker)).all()
    companies = tuple(MentionedCompany(
        ticker=str(m.ticker), aliases=tuple(m.matched_aliases or ()),
        confidence=float(m.confidence), is_primary=bool(m.is_primary)) for m in mentions)
    return WorkDocument(int(row.id), DocumentRoute(row.route), row.title, row.text or "",
                        row.published_at, companies,
                        {str(m.ticker): int(m.company_id) for m in mentions})


def finish_document(conn: sa.Connection, document_id: int, owner: str) -> bool:
    """Mark a leased document extracted (in the transaction that stored its signals)."""
    d = DOCUMENTS.c
    result = conn.execute(
        sa.update(DOCUMENTS).where(d.id == document_id, d.lease_owner == owner,
                                   d.status == DocumentStatus.EXTRACTING.value)
        .values(status=DocumentStatus.EXTRACTED.value, lease_owner=None, lease_expires_at=None,
                error=None, updated_at=utcnow()))
    return result.rowcount == 1


def release_document(engine: Engine, document_id: int, owner: str, *,
                     error: str | None = None, failed: bool = False) -> None:
    """Give a lease back: pending again (``parsed``), or ``failed`` with the reason."""
    status = DocumentStatus.FAILED if failed else DocumentStatus.PARSED
    d = DOCUMENTS.c
    with engine.begin() as conn:
        conn.execute(sa.update(DOCUMENTS).where(d.id == document_id, d.lease_owner == owner)
                     .values(status=status.value, lease_owner=None, lease_expires_at=None,
                             error=error[:2000] if error else None, updated_at=utcnow()))


def unavailable_attempts(engine: Engine, document_id: int) -> int:
    """How many LLM calls for this document ended in a timeout or server error."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(_LOG).where(
            _LOG.c.document_id == document_id,
            _LOG.c.outcome.in_([CallOutcome.TIMEOUT.value, CallOutcome.ERROR.value]))
        ).scalar_one())
