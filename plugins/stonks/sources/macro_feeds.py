"""Macro and geopolitical feeds: RSS 2.0, Atom and JSON Feed, live and from bundled text.

Each entry becomes a macro ``FetchedDocument`` whose payload is the entry as canonical JSON
(title, link, summary HTML, published time, feed), so the same entry hashes the same on
every fetch. A feed that does not parse raises ``SourceResponseInvalid``.
"""

from __future__ import annotations

import email.utils
import json
import logging
from datetime import UTC, datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from stonks.models import DocumentKind
from stonks.sources.errors import SourceResponseInvalid
from stonks.sources.http import SourceHttpClient
from stonks.sources.records import FetchedDocument, canonical_json

logger = logging.getLogger(__name__)

SOURCE_KEY = "macro_feeds"
_ATOM = "{http://www.w3.org/2005/Atom}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    if found is None:
        return None
    value = found.text
    return value.strip() if value else None


def parse_feed(body: bytes, feed_url: str) -> list[dict[str, Any]]:
    """Entries of an RSS, Atom or JSON feed as dicts: guid, title, link, summary, published."""
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        return _parse_json_feed(body, feed_url)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceResponseInvalid(f"macro feed {feed_url}: not well-formed XML: {exc}") from exc
    entries: list[dict[str, Any]] = []
    if root.tag == f"{_ATOM}feed":
        for item in root.iter(f"{_ATOM}entry"):
            link = item.find(f"{_ATOM}link")
            entries.append({
                "guid": _text(item, f"{_ATOM}id"),
                "title": _text(item, f"{_ATOM}title"),
                "link": link.get("href") if link is not None else None,
                "summary": _text(item, f"{_ATOM}summary") or _text(item, f"{_ATOM}content"),
                "published": _text(item, f"{_ATOM}published") or _text(item, f"{_ATOM}updated"),
            })
    elif root.tag == "rss" or root.find("channel") is not None:
        for item in root.iter("item"):
            entries.append({
                "guid": _text(item, "guid") or _text(item, "link"),
                "title": _text(item, "title"),
                "link": _text(item, "link"),
                "summary": _text(item, "description"),
                "published": _text(item, "pubDate"),
            })
    else:
        raise SourceResponseInvalid(f"macro feed {feed_url}: neither RSS nor Atom ({root.tag})")
    return [dict(e, feed=feed_url) for e in entries]


def _parse_json_feed(body: bytes, feed_url: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceResponseInvalid(f"macro feed {feed_url}: malformed JSON: {exc}") from exc
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SourceResponseInvalid(f"macro feed {feed_url}: JSON feed without 'items' list")
    return [
        {
            "guid": str(item.get("id") or item.get("url") or ""),
            "title": item.get("title"),
            "link": item.get("url"),
            "summary": item.get("content_html") or item.get("content_text")
            or item.get("summary"),
            "published": item.get("date_published"),
            "feed": feed_url,
        }
        for item in items
        if isinstance(item, dict)
    ]


def entry_documents(
    entries: list[dict[str, Any]], start: datetime, end: datetime
) -> list[FetchedDocument]:
    """Macro documents of the entries published in ``[start, end)``; undated ones are skipped."""
    documents = []
    for entry in entries:
        published = _parse_time(entry.get("published"))
        if published is None or not entry.get("title") or not entry.get("guid"):
            logger.warning("macro entry skipped: no date, title or id",
                           extra={"feed": entry.get("feed"), "guid": entry.get("guid")})
            continue
        if not start <= published < end:
            continue
        documents.append(
            FetchedDocument(
                source_key=SOURCE_KEY,
                kind=DocumentKind.MACRO,
                external_id=str(entry["guid"])[:255],
                published_at=published,
                payload=canonical_json(entry),
                content_type="application/json",
                url=entry.get("link"),
                title=str(entry["title"]),
                provider_data={"feed": entry.get("feed")},
            )
        )
    return documents


class MacroFeedClient:
    """Fetches configured feed URLs over a ``SourceHttpClient``."""

    def __init__(self, http: SourceHttpClient, feed_urls: list[str]) -> None:
        self.http = http
        self.feed_urls = feed_urls

    def documents(self, start: datetime, end: datetime) -> list[FetchedDocument]:
        documents: list[FetchedDocument] = []
        for url in self.feed_urls:
            body, _ = self.http.get_bytes(url, expect=("xml", "rss", "atom", "json"))
            documents.extend(entry_documents(parse_feed(body, url), start, end))
        return documents
