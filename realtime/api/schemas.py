"""Request bodies of the control API."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from stonks.models.enums import OrderSide


class OverrideOrder(BaseModel):
    """A manual order; it passes the same gates and risk checks as any other."""

    model_config = ConfigDict(extra="forbid")

    ticker: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z][A-Z0-9.\-]*$")
    side: OrderSide
    quantity: Decimal = Field(gt=0, max_digits=20, decimal_places=6)
    actor: str = Field(min_length=1, max_length=128)
    as_of: AwareDatetime | None = Field(
        default=None, description="Market time (replay on the simulated broker)."
    )
    idempotency_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,48}$")


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=500)


class ReconcileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adopt: bool = False
