"""Where data comes from: sources, their ingestion windows, and the company universe."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.types import (
    JSON,
    TICKER,
    CreatedAtMixin,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
)


class SourceKind(StrEnum):
    """What a source delivers."""

    NEWS = "news"
    FILINGS = "filings"
    MACRO = "macro"
    MARKET_BARS = "market_bars"


class IngestionStatus(StrEnum):
    """Lifecycle of one ingestion window."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class AliasKind(StrEnum):
    """How a company can be named in text."""

    TICKER = "ticker"
    NAME = "name"
    SHORT_NAME = "short_name"
    FORMER_NAME = "former_name"
    PRODUCT = "product"
    PERSON = "person"


class Source(TimestampsMixin, IdMixin, table=True):
    """One upstream feed (Polygon news, EDGAR, a macro RSS feed, …), named by a stable key."""

    __tablename__ = "sources"
    __table_args__ = (sa.UniqueConstraint("key"), enum_check("kind", SourceKind))

    key: str = Field(sa_type=sa.String(64), description="Stable key, e.g. 'polygon_news'.")
    name: str = Field(sa_type=sa.String(200))
    kind: SourceKind = Field(sa_type=enum_column(SourceKind, 16))
    base_url: str | None = Field(default=None, sa_type=sa.String(500))
    enabled: bool = Field(default=True)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class IngestionRun(TimestampsMixin, IdMixin, table=True):
    """One fetch of one source over one data interval; re-running the window updates it."""

    __tablename__ = "ingestion_runs"
    __table_args__ = (
        sa.UniqueConstraint("source_id", "window_start", "window_end"),
        sa.CheckConstraint("window_end > window_start", name="window_order"),
        enum_check("status", IngestionStatus),
        sa.Index("ix_ingestion_runs_status_window_start", "status", "window_start"),
    )

    source_id: int = fk_field("sources.id", ondelete="CASCADE", index=False)
    window_start: datetime = timestamp_field(nullable=False)
    window_end: datetime = timestamp_field(nullable=False)
    status: IngestionStatus = Field(
        default=IngestionStatus.RUNNING, sa_type=enum_column(IngestionStatus, 16)
    )
    attempts: int = Field(default=1)
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    items_fetched: int = Field(default=0)
    items_stored: int = Field(default=0)
    items_duplicate: int = Field(default=0)
    dag_run_id: str | None = Field(default=None, sa_type=sa.String(250))
    error: str | None = Field(default=None, sa_type=sa.Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class CompanyBase(SQLModel):
    """The fields that describe a listed company."""

    ticker: str = Field(sa_type=TICKER, max_length=16)
    name: str = Field(sa_type=sa.String(255), max_length=255)
    cik: str | None = Field(
        default=None, sa_type=sa.String(10), max_length=10, description="SEC CIK, zero-padded."
    )
    exchange: str | None = Field(default=None, sa_type=sa.String(16), max_length=16)
    sector: str | None = Field(default=None, sa_type=sa.String(100), max_length=100)
    industry: str | None = Field(default=None, sa_type=sa.String(150), max_length=150)
    tracked: bool = Field(default=False, description="In the trading universe.")
    active: bool = Field(default=True, description="Still listed.")


class Company(TimestampsMixin, CompanyBase, IdMixin, table=True):
    """A company of the universe, one row per ticker."""

    __tablename__ = "companies"
    __table_args__ = (
        sa.UniqueConstraint("ticker"),
        sa.Index("ix_companies_cik", "cik"),
        sa.Index("ix_companies_tracked", "tracked"),
        sa.Index("ix_companies_sector", "sector"),
    )


class CompanyPublic(CompanyBase):
    """A company as the API returns it."""

    id: int
    created_at: datetime
    updated_at: datetime


class CompanyAlias(CreatedAtMixin, IdMixin, table=True):
    """A name under which a company appears in text; ambiguous ones need context to match."""

    __tablename__ = "company_aliases"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "alias"),
        enum_check("kind", AliasKind),
        sa.Index("ix_company_aliases_alias", "alias"),
    )

    company_id: int = fk_field("companies.id", ondelete="CASCADE", index=False)
    alias: str = Field(sa_type=sa.String(255), description="As matched, case-folded.")
    kind: AliasKind = Field(default=AliasKind.NAME, sa_type=enum_column(AliasKind, 16))
    ambiguous: bool = Field(
        default=False, description="Common word or short ticker (A, IT, ON): needs context."
    )
