"""What the source adapters deliver: fetched documents and market bars, provider-neutral."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stonks.models import DocumentKind


def canonical_json(value: Any) -> bytes:
    """A stable byte encoding of a JSON value, so equal content hashes equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class FetchedDocument:
    """One raw document as a source delivered it, before storage."""

    source_key: str
    kind: DocumentKind
    external_id: str
    published_at: datetime
    payload: bytes
    content_type: str
    url: str | None = None
    title: str | None = None
    author: str | None = None
    tickers: tuple[str, ...] = ()
    provider_data: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    @property
    def extension(self) -> str:
        if "json" in self.content_type:
            return "json"
        if "html" in self.content_type:
            return "html"
        if "xml" in self.content_type:
            return "xml"
        return "txt"


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar of one ticker starting at ``start`` (UTC)."""

    ticker: str
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None = None
    transactions: int | None = None
