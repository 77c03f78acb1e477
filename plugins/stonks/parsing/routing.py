"""Routing a parsed document: macro events to macro classification, the rest to extraction.

After the parse is committed a ``DocumentParsed`` message goes on the route's queue
(``macro_classification`` or ``extraction``); its ``message_id`` is derived from the document,
so a re-publish after a crash is deduplicated by the consumer.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import AwareDatetime

from stonks.models import DocumentKind, DocumentRoute
from stonks.queues import QueueMessage
from stonks.redis_keys import QueueName

_MACRO_TERMS = re.compile(
    r"\b(federal reserve|the fed|fomc|central bank|interest rates?|inflation|gdp|"
    r"gross domestic product|unemployment|payrolls|jobless|recession|treasury yields?|"
    r"sovereign debt|bailout|tariffs?|sanctions|opec|oil prices?|war|election|"
    r"stimulus|deficit)\b",
    re.IGNORECASE,
)
QUEUES = {
    DocumentRoute.EXTRACTION: QueueName.EXTRACTION.value,
    DocumentRoute.MACRO: QueueName.MACRO_CLASSIFICATION.value,
}


class DocumentParsed(QueueMessage):
    """A parsed document ready for its next analysis (extraction or macro classification)."""

    SCHEMA = "document.parsed"
    VERSION = 1

    document_id: int
    kind: DocumentKind
    route: DocumentRoute
    tickers: list[str]
    published_at: AwareDatetime
    quality_score: float


def route_for(kind: DocumentKind, text: str, mentioned_tickers: list[str]) -> DocumentRoute:
    """Macro feeds, and news about the economy that names no company, go to macro."""
    if kind is DocumentKind.MACRO:
        return DocumentRoute.MACRO
    if kind is DocumentKind.NEWS and not mentioned_tickers and _MACRO_TERMS.search(text):
        return DocumentRoute.MACRO
    return DocumentRoute.EXTRACTION


def parsed_message(
    document_id: int, kind: DocumentKind, route: DocumentRoute, tickers: list[str],
    published_at: datetime, quality_score: float,
) -> DocumentParsed:
    return DocumentParsed(
        message_id=f"document:{document_id}:parsed", document_id=document_id, kind=kind,
        route=route, tickers=tickers, published_at=published_at, quality_score=quality_score,
    )
