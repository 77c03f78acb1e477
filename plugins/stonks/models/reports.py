"""Generated trading reports (the HTML itself lives in the object store)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from stonks.models.types import (
    JSON,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    timestamp_field,
)


class ReportKind(StrEnum):
    """The period a report covers."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ADHOC = "adhoc"


class ReportStatus(StrEnum):
    """Lifecycle of a report."""

    PENDING = "pending"
    GENERATED = "generated"
    SENT = "sent"
    FAILED = "failed"


class TradingReport(TimestampsMixin, IdMixin, table=True):
    """One report over one period; regenerating the period updates the same row."""

    __tablename__ = "trading_reports"
    __table_args__ = (
        sa.UniqueConstraint("kind", "period_start", "period_end"),
        sa.CheckConstraint("period_end > period_start", name="period_order"),
        enum_check("kind", ReportKind),
        enum_check("status", ReportStatus),
    )

    kind: ReportKind = Field(sa_type=enum_column(ReportKind, 16))
    period_start: datetime = timestamp_field(nullable=False)
    period_end: datetime = timestamp_field(nullable=False)
    status: ReportStatus = Field(
        default=ReportStatus.PENDING, sa_type=enum_column(ReportStatus, 16)
    )
    title: str = Field(sa_type=sa.String(255))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    html_object_key: str | None = Field(default=None, sa_type=sa.String(1024))
    generated_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    error: str | None = Field(default=None, sa_type=sa.Text)
