"""The macro signal layer: global events, company exposures, and their interpolated impact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from stonks.models.enums import Direction
from stonks.models.signals import (
    ProvenanceColumns,
    SignalColumns,
    signal_checks,
    ticker_time_index,
)
from stonks.models.types import (
    JSON,
    SCORE,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
    unit_interval_check,
)

GLOBAL_REGION = "global"


class GlobalEvent(TimestampsMixin, ProvenanceColumns, IdMixin, table=True):
    """A macro or geopolitical event classified from a document.

    Unique per (document, event type, region) so re-classifying a document updates its
    events instead of adding copies; ``region`` is ``'global'`` rather than NULL for that
    reason.
    """

    __tablename__ = "global_events"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "event_type", "region"),
        enum_check("direction", Direction),
        unit_interval_check("severity"),
        unit_interval_check("confidence"),
        sa.Index("ix_global_events_occurred_at", "occurred_at"),
        sa.Index("ix_global_events_event_type_occurred_at", "event_type", "occurred_at"),
    )

    document_id: int | None = fk_field("documents.id", ondelete="CASCADE", nullable=True)
    event_type: str = Field(
        sa_type=sa.String(64), description="e.g. 'rate_hike', 'sanctions', 'supply_shock'."
    )
    title: str = Field(sa_type=sa.Text)
    summary: str | None = Field(default=None, sa_type=sa.Text)
    region: str = Field(default=GLOBAL_REGION, sa_type=sa.String(64))
    direction: Direction = Field(
        default=Direction.NEUTRAL,
        sa_type=enum_column(Direction, 16),
        description="Effect on risk assets in general.",
    )
    severity: float = Field(sa_type=SCORE, description="In [0, 1].")
    confidence: float = Field(sa_type=SCORE)
    affected_sectors: list[str] = Field(default_factory=list, sa_type=JSON)
    affected_commodities: list[str] = Field(default_factory=list, sa_type=JSON)
    affected_regions: list[str] = Field(default_factory=list, sa_type=JSON)
    occurred_at: datetime = timestamp_field(nullable=False)
    published_at: datetime = timestamp_field(nullable=False)
    output: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ExposureProfile(TimestampsMixin, IdMixin, table=True):
    """How sensitive one company is to sectors, regions, commodities and rates."""

    __tablename__ = "exposure_profiles"
    __table_args__ = (sa.UniqueConstraint("company_id"),)

    company_id: int = fk_field("companies.id", ondelete="CASCADE", index=False)
    sector: str | None = Field(default=None, sa_type=sa.String(100))
    industry: str | None = Field(default=None, sa_type=sa.String(150))
    home_region: str = Field(default="us", sa_type=sa.String(64))
    region_exposures: dict[str, float] = Field(
        default_factory=dict, sa_type=JSON, description="Region → share of revenue, in [0, 1]."
    )
    sector_sensitivities: dict[str, float] = Field(
        default_factory=dict, sa_type=JSON, description="Sector → beta to sector events."
    )
    commodity_sensitivities: dict[str, float] = Field(
        default_factory=dict, sa_type=JSON, description="Commodity → signed sensitivity."
    )
    rate_sensitivity: float = Field(default=0.0, sa_type=SCORE, description="Signed.")
    fx_sensitivity: float = Field(default=0.0, sa_type=SCORE, description="Signed.")
    source: str = Field(
        default="seed", sa_type=sa.String(32), description="'seed', 'derived' or 'manual'."
    )


class MacroImpactRecord(TimestampsMixin, SignalColumns, IdMixin, table=True):
    """Layer 2: one event's impact on one company, interpolated through its exposures."""

    __tablename__ = "macro_impact_records"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "company_id"),
        *signal_checks(),
        ticker_time_index("macro_impact_records"),
    )

    event_id: int = fk_field("global_events.id", ondelete="CASCADE", index=False)
    exposure_score: float = Field(
        sa_type=SCORE, description="Signed exposure of the company to the event."
    )
    components: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="Per-channel terms of the interpolation."
    )
