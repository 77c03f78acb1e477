"""Positions held at a broker account and periodic snapshots of the whole portfolio."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stonks.models.types import (
    CASH,
    FRACTION,
    JSON,
    PRICE,
    QUANTITY,
    SCORE,
    TICKER,
    CreatedAtMixin,
    IdMixin,
    TimestampsMixin,
    enum_check,
    enum_column,
    fk_field,
    timestamp_field,
)


class PositionStatus(StrEnum):
    """Whether a position is held; a closed row is reopened by the next entry."""

    OPEN = "open"
    CLOSED = "closed"


class PositionBase(SQLModel):
    """The fields of a position."""

    broker_account_id: int = fk_field("broker_accounts.id", ondelete="CASCADE", index=False)
    company_id: int | None = fk_field("companies.id", ondelete="SET NULL", nullable=True)
    ticker: str = Field(sa_type=TICKER, max_length=16)
    status: PositionStatus = Field(
        default=PositionStatus.OPEN, sa_type=enum_column(PositionStatus, 8)
    )
    quantity: Decimal = Field(default=Decimal(0), sa_type=QUANTITY)
    avg_entry_price: Decimal | None = Field(default=None, sa_type=PRICE)
    cost_basis: Decimal = Field(default=Decimal(0), sa_type=CASH)
    market_price: Decimal | None = Field(default=None, sa_type=PRICE)
    market_value: Decimal | None = Field(default=None, sa_type=CASH)
    unrealized_pl: Decimal | None = Field(default=None, sa_type=CASH)
    realized_pl: Decimal = Field(default=Decimal(0), sa_type=CASH)
    sector: str | None = Field(
        default=None, sa_type=sa.String(100), description="Copied for the sector-exposure gate."
    )
    stop_loss: Decimal | None = Field(default=None, sa_type=PRICE)
    take_profit: Decimal | None = Field(default=None, sa_type=PRICE)
    trailing_atr_multiple: float | None = Field(default=None, sa_type=SCORE)
    trailing_stop: Decimal | None = Field(default=None, sa_type=PRICE)
    high_water_price: Decimal | None = Field(
        default=None, sa_type=PRICE, description="Highest price since entry, for trailing."
    )
    opened_at: datetime | None = timestamp_field()
    closed_at: datetime | None = timestamp_field()


class Position(TimestampsMixin, PositionBase, IdMixin, table=True):
    """The position in one ticker at one broker account."""

    __tablename__ = "positions"
    __table_args__ = (
        sa.UniqueConstraint("broker_account_id", "ticker"),
        enum_check("status", PositionStatus),
        sa.Index("ix_positions_status", "status"),
    )

    entry_order_id: int | None = fk_field("orders.id", ondelete="SET NULL", nullable=True)
    targets: list[str] = Field(
        default_factory=list, sa_type=JSON, description="Target prices as decimal strings."
    )
    reconciled_at: datetime | None = timestamp_field()


class PositionPublic(PositionBase):
    """A position as the API returns it."""

    id: int
    created_at: datetime
    updated_at: datetime


class PortfolioSnapshot(CreatedAtMixin, IdMixin, table=True):
    """Balances, exposure and drawdown of an account at one moment."""

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (
        sa.UniqueConstraint("broker_account_id", "taken_at"),
        sa.Index("ix_portfolio_snapshots_taken_at", "taken_at"),
    )

    broker_account_id: int = fk_field("broker_accounts.id", ondelete="CASCADE", index=False)
    taken_at: datetime = timestamp_field(nullable=False)
    cash: Decimal = Field(sa_type=CASH)
    equity: Decimal = Field(sa_type=CASH)
    positions_value: Decimal = Field(default=Decimal(0), sa_type=CASH)
    buying_power: Decimal | None = Field(default=None, sa_type=CASH)
    unrealized_pl: Decimal = Field(default=Decimal(0), sa_type=CASH)
    realized_pl_day: Decimal = Field(default=Decimal(0), sa_type=CASH)
    day_pl: Decimal = Field(default=Decimal(0), sa_type=CASH)
    high_water_mark: Decimal | None = Field(default=None, sa_type=CASH)
    drawdown: Decimal | None = Field(
        default=None, sa_type=FRACTION, description="From the high-water mark, as a fraction."
    )
    open_positions: int = Field(default=0)
    sector_exposure: dict[str, str] = Field(
        default_factory=dict, sa_type=JSON, description="Sector → fraction of equity (decimal)."
    )
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
