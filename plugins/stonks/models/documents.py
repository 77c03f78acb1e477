"""Documents and what extraction learned from them (the company signal layer)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.signals import (
    ProvenanceColumns,
    SignalColumns,
    signal_checks,
    ticker_time_index,
)
from stonks.models.types import (
    HASH,
    JSON,
    SCORE,
    TICKER,
    CreatedAtMixin,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
    unit_interval_check,
)


class DocumentKind(StrEnum):
    """What kind of text a document is."""

    NEWS = "news"
    FILING = "filing"
    MACRO = "macro"


class DocumentStatus(StrEnum):
    """Where a document is in the batch pipeline.

    ``parsing`` and ``extracting`` are leased states: ``lease_expires_at`` says when a crashed
    worker's claim lapses and another run may take the document again.
    """

    INGESTED = "ingested"
    PARSING = "parsing"
    PARSED = "parsed"
    EXTRACTING = "extracting"
    EXTRACTED = "extracted"
    FAILED = "failed"
    SKIPPED = "skipped"


class DocumentRoute(StrEnum):
    """Which analysis a parsed document goes to."""

    EXTRACTION = "extraction"
    MACRO = "macro"


class DocumentBase(SQLModel):
    """The fields that identify and describe a fetched document."""

    source_id: int = fk_field("sources.id", ondelete="RESTRICT", index=False)
    ingestion_run_id: int | None = fk_field("ingestion_runs.id", ondelete="SET NULL", nullable=True)
    kind: DocumentKind = Field(sa_type=enum_column(DocumentKind, 16))
    external_id: str | None = Field(
        default=None, sa_type=sa.String(255), description="The provider's id (article id, …)."
    )
    url: str | None = Field(default=None, sa_type=sa.String(2048))
    title: str | None = Field(default=None, sa_type=sa.Text)
    author: str | None = Field(default=None, sa_type=sa.String(255))
    published_at: datetime = timestamp_field(nullable=False)
    content_hash: str = Field(sa_type=HASH, description="sha256 hex of the raw payload.")
    raw_object_key: str | None = Field(
        default=None, sa_type=sa.String(1024), description="Object-store key of the payload."
    )
    content_type: str | None = Field(default=None, sa_type=sa.String(100))
    provider_data: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Provider fields kept as-is."
    )


class Document(TimestampsMixin, DocumentBase, IdMixin, table=True):
    """One fetched document, unique by content hash, with its parse state and lease."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.UniqueConstraint("content_hash"),
        enum_check("kind", DocumentKind),
        enum_check("status", DocumentStatus),
        enum_check("route", DocumentRoute),
        unit_interval_check("quality_score"),
        sa.Index("ix_documents_status_published_at", "status", "published_at"),
        sa.Index("ix_documents_published_at", "published_at"),
        sa.Index("ix_documents_source_id_external_id", "source_id", "external_id"),
    )

    fetched_at: datetime | None = timestamp_field()
    status: DocumentStatus = Field(
        default=DocumentStatus.INGESTED, sa_type=enum_column(DocumentStatus, 16)
    )
    route: DocumentRoute | None = Field(default=None, sa_type=enum_column(DocumentRoute, 16))
    text: str | None = Field(default=None, sa_type=sa.Text, description="Clean text.")
    language: str | None = Field(default=None, sa_type=sa.String(16))
    word_count: int | None = Field(default=None)
    quality_score: float | None = Field(default=None, sa_type=SCORE)
    duplicate_of_id: int | None = fk_field("documents.id", ondelete="SET NULL", nullable=True)
    lease_owner: str | None = Field(default=None, sa_type=sa.String(128))
    lease_expires_at: datetime | None = timestamp_field()
    attempts: int = Field(default=0)
    error: str | None = Field(default=None, sa_type=sa.Text)
    parsed_at: datetime | None = timestamp_field()
    processed_at: datetime | None = timestamp_field()


class DocumentIntelligence(TimestampsMixin, ProvenanceColumns, IdMixin, table=True):
    """What extraction made of a whole document: summary, sentiment, event types.

    One row per document; a re-extraction (another variant, a repaired output) replaces it.
    """

    __tablename__ = "document_intelligence"
    __table_args__ = (
        sa.UniqueConstraint("document_id"),
        unit_interval_check("sentiment", signed=True),
        unit_interval_check("confidence"),
    )

    document_id: int = fk_field("documents.id", ondelete="CASCADE", index=False)
    extractor: str = Field(sa_type=sa.String(32), description="'lexicon', 'ollama', 'openai'.")
    summary: str | None = Field(default=None, sa_type=sa.Text)
    sentiment: float = Field(sa_type=SCORE, description="In [-1, 1].")
    confidence: float = Field(sa_type=SCORE)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    output: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="The validated extractor output."
    )
    published_at: datetime = timestamp_field(nullable=False)


class DocumentImpactRecord(TimestampsMixin, ProvenanceColumns, SignalColumns, IdMixin, table=True):
    """Layer 1: what one document means for one mentioned company."""

    __tablename__ = "document_impact_records"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "company_id"),
        *signal_checks(),
        unit_interval_check("sentiment", signed=True),
        ticker_time_index("document_impact_records"),
    )

    document_id: int = fk_field("documents.id", ondelete="CASCADE", index=False)
    sentiment: float | None = Field(default=None, sa_type=SCORE)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    rationale: str | None = Field(default=None, sa_type=sa.Text)
    evidence: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Sentences and cues behind the call."
    )


class DocumentCompanyMention(CreatedAtMixin, IdMixin, table=True):
    """A company mentioned in a document, found by ticker or alias during parsing."""

    __tablename__ = "document_company_mentions"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "company_id"),
        unit_interval_check("confidence"),
        ticker_time_index("document_company_mentions"),
    )

    document_id: int = fk_field("documents.id", ondelete="CASCADE", index=False)
    company_id: int = fk_field("companies.id", ondelete="CASCADE")
    ticker: str = Field(sa_type=TICKER)
    mention_count: int = Field(default=1)
    matched_aliases: list[str] = Field(default_factory=list, sa_type=JSON)
    first_offset: int | None = Field(default=None, description="Character offset in the text.")
    confidence: float = Field(default=1.0, sa_type=SCORE)
    is_primary: bool = Field(default=False, description="The document is mainly about it.")
    published_at: datetime = timestamp_field(nullable=False)
