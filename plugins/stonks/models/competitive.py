"""The competitive signal layer: who competes with whom, and signals propagated along it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from stonks.models.signals import SignalColumns, signal_checks, ticker_time_index
from stonks.models.types import (
    JSON,
    SCORE,
    TICKER,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    unit_interval_check,
)


class RelationshipKind(StrEnum):
    """Why two companies are linked."""

    SAME_INDUSTRY = "same_industry"
    EXPLICIT = "explicit"
    CO_MOVEMENT = "co_movement"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"


class CompetitorRelationship(TimestampsMixin, IdMixin, table=True):
    """A directed link from a company to a competitor, with the strength signals decay by.

    One row per ordered pair: the strongest reason wins, so propagation never counts a pair
    twice.
    """

    __tablename__ = "competitor_relationships"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "competitor_id"),
        sa.CheckConstraint("company_id <> competitor_id", name="not_self"),
        enum_check("kind", RelationshipKind),
        unit_interval_check("strength"),
    )

    company_id: int = fk_field("companies.id", ondelete="CASCADE", index=False)
    competitor_id: int = fk_field("companies.id", ondelete="CASCADE")
    kind: RelationshipKind = Field(sa_type=enum_column(RelationshipKind, 16))
    strength: float = Field(sa_type=SCORE, description="In [0, 1].")
    co_movement: float | None = Field(
        default=None, sa_type=SCORE, description="Correlation of past signals, when measured."
    )
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class CompetitiveSignalRecord(TimestampsMixin, SignalColumns, IdMixin, table=True):
    """Layer 3: a company signal propagated to a competitor, decayed by relationship strength.

    ``company_id``/``ticker`` are the target; the source signal is a document impact record.
    """

    __tablename__ = "competitive_signal_records"
    __table_args__ = (
        sa.UniqueConstraint("source_impact_id", "company_id"),
        *signal_checks(),
        unit_interval_check("decay"),
        ticker_time_index("competitive_signal_records"),
    )

    source_impact_id: int = fk_field("document_impact_records.id", ondelete="CASCADE", index=False)
    source_company_id: int = fk_field("companies.id", ondelete="CASCADE")
    source_ticker: str = Field(sa_type=TICKER)
    document_id: int = fk_field("documents.id", ondelete="CASCADE")
    relationship_id: int | None = fk_field(
        "competitor_relationships.id", ondelete="SET NULL", nullable=True
    )
    decay: float = Field(sa_type=SCORE, description="Multiplier applied to the source signal.")
    pattern_score: float | None = Field(
        default=None, sa_type=SCORE, description="Historical co-movement match, if any."
    )
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
