"""The parse stage: lease documents, clean, score, find mentions, persist, route.

``process_documents`` loops over leased batches until none are left. Each batch's results
are written in one transaction, only for rows this worker still leases; the route messages
are published after that commit and ``processed_at`` is set once they are on the queue, so
a crash in between leaves a parsed-but-unrouted row that ``republish_unrouted`` finds.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks import redis_keys
from stonks.config import Settings, get_settings
from stonks.db import get_engine
from stonks.db.conflict import table_of
from stonks.ingestion.jobs import ensure_universe
from stonks.ingestion.object_store import ObjectNotFound, ObjectStore, object_store
from stonks.models import (
    Company,
    CompanyAlias,
    DocumentCompanyMention,
    DocumentKind,
    DocumentRoute,
    DocumentStatus,
)
from stonks.models.sources import AliasKind
from stonks.models.types import utcnow
from stonks.parsing.html_text import clean_html, looks_like_html
from stonks.parsing.leases import DOCUMENTS, ClaimedDocument, claim_batch, owned_ids
from stonks.parsing.mentions import AliasEntry, Mention, MentionDetector
from stonks.parsing.quality import assess, near_duplicate_of
from stonks.parsing.routing import QUEUES, parsed_message, route_for
from stonks.queues import Producer
from stonks.redis_client import connect

logger = logging.getLogger(__name__)

MIN_QUALITY = 0.15
NEAR_DUPLICATE_WINDOW = timedelta(days=3)
# Bounds of the SimHash index: ten match windows back from the newest document, and a cap
# (a member is ~30 bytes, so ~6 MB per document kind).
NEAR_DUPLICATE_RETENTION = timedelta(days=30)
NEAR_DUPLICATE_MAX_ENTRIES = 200_000
_MENTIONS = table_of(DocumentCompanyMention)


@dataclass
class ParseResult:
    """What parsing made of one leased document."""

    document: ClaimedDocument
    text: str = ""
    title: str | None = None
    quality: float = 0.0
    word_count: int = 0
    language: str | None = None
    simhash: int = 0
    duplicate_of: int | None = None
    mentions: list[Mention] = field(default_factory=list)
    route: DocumentRoute | None = None
    error: str | None = None


def load_detector(engine: Engine) -> MentionDetector:
    """A mention detector over every alias of every active company."""
    aliases = table_of(CompanyAlias)
    companies = table_of(Company)
    query = (
        sa.select(aliases.c.company_id, companies.c.ticker, aliases.c.alias, aliases.c.kind,
                  aliases.c.ambiguous)
        .join(companies, companies.c.id == aliases.c.company_id)
        .where(companies.c.active.is_(True))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return MentionDetector(
        AliasEntry(int(r.company_id), str(r.ticker), str(r.alias),
                   r.kind == AliasKind.TICKER.value, bool(r.ambiguous))
        for r in rows
    )


def document_text(document: ClaimedDocument, payload: bytes) -> tuple[str | None, str, float]:
    """(title, clean text, boilerplate ratio) of a raw payload by its content type."""
    content_type = document.content_type or ""
    if "json" in content_type:
        item = json.loads(payload)
        title = item.get("title") or document.title
        body = str(item.get("description") or item.get("summary") or "")
        ratio = 0.0
        if looks_like_html(body):
            cleaned = clean_html(body)
            body, ratio = cleaned.text, cleaned.boilerplate_ratio
        return title, f"{title}\n\n{body}".strip() if title else body.strip(), ratio
    if "html" in content_type or looks_like_html(payload[:2000].decode("utf-8", "replace")):
        cleaned = clean_html(payload)
        return document.title or cleaned.title, cleaned.text, cleaned.boilerplate_ratio
    return document.title, payload.decode("utf-8", "replace").strip(), 0.0


def parse_document(
    document: ClaimedDocument, payload: bytes, detector: MentionDetector
) -> ParseResult:
    """Clean, score (without near-duplicates) and find mentions in one document."""
    result = ParseResult(document)
    try:
        title, text, ratio = document_text(document, payload)
    except (ValueError, UnicodeDecodeError, AttributeError) as exc:
        result.error = f"unparseable payload: {exc}"
        return result
    quality = assess(text, boilerplate_ratio=ratio, duplicate=False)
    hints = [str(t) for t in document.provider_data.get("tickers", [])]
    result.title, result.text = title, text
    result.quality, result.word_count = quality.score, quality.word_count
    result.language, result.simhash = quality.language, quality.simhash
    result.mentions = detector.detect(text, hints)
    result.route = route_for(document.kind, text, [m.ticker for m in result.mentions])
    return result


class NearDuplicateIndex:
    """SimHashes of parsed documents by kind and time, in a Redis sorted set.

    The score is the document's published time. The set is bounded on every ``add``: entries
    published more than ``retention`` before the newest indexed document are dropped (a match
    only looks ``NEAR_DUPLICATE_WINDOW`` either side), and at most ``max_entries`` of the
    newest are kept. Ages are measured against the newest document, not the wall clock, so
    a backfill of old data still finds its neighbours; a backfill older than ``retention``
    behind the newest indexed document is not checked for near-duplicates.
    """

    def __init__(self, client: redis.Redis, *, retention: timedelta = NEAR_DUPLICATE_RETENTION,
                 max_entries: int = NEAR_DUPLICATE_MAX_ENTRIES) -> None:
        if retention < NEAR_DUPLICATE_WINDOW:
            raise ValueError("retention must cover the near-duplicate window")
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._client = client
        self._retention_s = retention.total_seconds()
        self._max_entries = max_entries

    def candidates(self, kind: DocumentKind, around: float) -> list[tuple[int, int]]:
        window = NEAR_DUPLICATE_WINDOW.total_seconds()
        key = redis_keys.cache("simhash", kind.value)
        members: Any = self._client.zrangebyscore(key, around - window, around + window)
        pairs = []
        for member in members:
            doc_id, _, value = member.decode().partition(":")
            pairs.append((int(doc_id), int(value)))
        return sorted(pairs)

    def add(self, results: list[ParseResult]) -> None:
        pipe = self._client.pipeline(transaction=False)
        keys: set[str] = set()
        for r in results:
            if r.simhash and r.document.kind is not DocumentKind.FILING:
                key = redis_keys.cache("simhash", r.document.kind.value)
                keys.add(key)
                member = f"{r.document.id}:{r.simhash}"
                pipe.zadd(key, {member: r.document.published_at.timestamp()})
        pipe.execute()
        for key in sorted(keys):
            self.trim(key)

    def trim(self, key: str) -> None:
        """Drop entries past the retention behind the newest one, then all but the newest N."""
        newest: Any = self._client.zrange(key, -1, -1, withscores=True)
        if not newest:
            return
        pipe = self._client.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", f"({float(newest[0][1]) - self._retention_s}")
        pipe.zremrangebyrank(key, 0, -self._max_entries - 1)
        pipe.execute()


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _persist(engine: Engine, owner: str, results: list[ParseResult]) -> list[ParseResult]:
    """Write a batch's results for the rows still leased by ``owner``; returns those."""
    now = utcnow()
    with engine.begin() as conn:
        mine = owned_ids(conn, owner, [r.document.id for r in results])
        kept = [r for r in results if r.document.id in mine]
        if not kept:
            return []
        conn.execute(sa.delete(_MENTIONS).where(
            _MENTIONS.c.document_id.in_([r.document.id for r in kept])))
        mention_rows = [
            {"document_id": r.document.id, "company_id": m.company_id, "ticker": m.ticker,
             "mention_count": m.count, "matched_aliases": sorted(m.aliases),
             "first_offset": m.first_offset, "confidence": m.confidence,
             "is_primary": index == 0, "published_at": r.document.published_at,
             "created_at": now}
            for r in kept if r.error is None for index, m in enumerate(r.mentions)
        ]
        if mention_rows:
            conn.execute(sa.insert(_MENTIONS), mention_rows)
        d = DOCUMENTS.c
        update = (
            sa.update(DOCUMENTS)
            .where(d.id == sa.bindparam("doc_id"))
            .values(status=sa.bindparam("new_status"), route=sa.bindparam("new_route"),
                    text=sa.bindparam("new_text"), language=sa.bindparam("new_language"),
                    word_count=sa.bindparam("new_words"), quality_score=sa.bindparam("new_q"),
                    duplicate_of_id=sa.bindparam("new_dup"), error=sa.bindparam("new_error"),
                    lease_owner=None, lease_expires_at=None, parsed_at=now, updated_at=now)
        )
        conn.execute(update, [_row(r) for r in kept])
    return kept


def _row(r: ParseResult) -> dict[str, Any]:
    routed = r.error is None and r.duplicate_of is None and r.quality >= MIN_QUALITY
    if r.error is not None:
        status = DocumentStatus.FAILED
    else:
        status = DocumentStatus.PARSED if routed else DocumentStatus.SKIPPED
    return {
        "doc_id": r.document.id, "new_status": status.value,
        "new_route": r.route.value if routed and r.route else None,
        "new_text": r.text or None, "new_language": r.language, "new_words": r.word_count,
        "new_q": r.quality if r.error is None else None, "new_dup": r.duplicate_of,
        "new_error": r.error,
    }


def publish_routes(engine: Engine, client: redis.Redis, results: list[ParseResult]) -> int:
    """Put routed documents on their queues, then mark them processed."""
    routed = [r for r in results if _row(r)["new_route"] is not None]
    for route, queue in QUEUES.items():
        messages = [
            parsed_message(r.document.id, r.document.kind, route,
                           [m.ticker for m in r.mentions], r.document.published_at, r.quality)
            for r in routed if r.route is route
        ]
        if messages:
            Producer(client, queue).publish_many(messages)
    if routed:
        with engine.begin() as conn:
            conn.execute(sa.update(DOCUMENTS)
                         .where(DOCUMENTS.c.id.in_([r.document.id for r in routed]))
                         .values(processed_at=utcnow()))
    return len(routed)


def process_documents(
    *, settings: Settings | None = None, owner: str | None = None,
    batch_size: int | None = None, max_batches: int | None = None,
) -> dict[str, Any]:
    """Parse every waiting document (batch by batch) and route it; returns counts."""
    settings = settings or get_settings()
    engine = get_engine(settings.effective_database_url)
    client = connect(settings=settings)
    store = object_store(settings)
    ensure_universe(engine, settings)
    detector = load_detector(engine)
    owner = owner or default_owner()
    index = NearDuplicateIndex(client)
    totals: dict[str, Any] = {"claimed": 0, "parsed": 0, "skipped": 0, "failed": 0,
                              "routed": {"extraction": 0, "macro": 0}, "mentions": 0,
                              "lost_leases": 0}
    batches = 0
    while max_batches is None or batches < max_batches:
        claimed = claim_batch(engine, owner=owner, limit=batch_size or settings.parse_batch_size,
                              lease_s=settings.parse_lease_s,
                              max_attempts=settings.parse_max_attempts)
        if not claimed:
            break
        batches += 1
        results = parse_batch(claimed, store, detector, index)
        kept = _persist(engine, owner, results)
        publish_routes(engine, client, kept)
        index.add([r for r in kept if r.error is None])
        _count(totals, claimed, results, kept)
    totals["batches"] = batches
    logger.info("documents processed", extra={"owner": owner, **totals})
    return totals


def parse_batch(
    claimed: list[ClaimedDocument], store: ObjectStore, detector: MentionDetector,
    index: NearDuplicateIndex,
) -> list[ParseResult]:
    """Parse a leased batch and mark near-duplicates of earlier documents."""
    results = []
    for document in claimed:
        try:
            payload = store.get(document.raw_object_key or "")
        except (ObjectNotFound, OSError, ValueError) as exc:
            results.append(ParseResult(document, error=f"raw payload missing: {exc}"))
            continue
        results.append(parse_document(document, payload, detector))
    seen: list[tuple[int, int]] = []
    for r in results:
        # Filings share boilerplate by law and are unique by accession: never near-duplicates.
        if r.error is not None or not r.simhash or r.document.kind is DocumentKind.FILING:
            continue
        earlier = [p for p in index.candidates(r.document.kind, r.document.published_at
                                               .timestamp()) if p[0] < r.document.id]
        r.duplicate_of = near_duplicate_of(r.simhash, earlier + seen)
        seen.append((r.document.id, r.simhash))
    return results


def _count(totals: dict[str, Any], claimed: list[ClaimedDocument], results: list[ParseResult],
           kept: list[ParseResult]) -> None:
    totals["claimed"] += len(claimed)
    totals["lost_leases"] += len(results) - len(kept)
    for r in kept:
        row = _row(r)
        status = row["new_status"]
        if status == DocumentStatus.PARSED.value:
            totals["parsed"] += 1
            totals["routed"][row["new_route"]] += 1
        elif status == DocumentStatus.SKIPPED.value:
            totals["skipped"] += 1
        else:
            totals["failed"] += 1
        totals["mentions"] += len(r.mentions) if r.error is None else 0
