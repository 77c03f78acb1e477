"""What every broker adapter offers, in our own types (never the provider's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from stonks.models.enums import OrderSide
from stonks.models.orders import OrderStatus, OrderType, TimeInForce


@dataclass(frozen=True)
class OrderRequest:
    """An order as we hand it to a broker."""

    client_order_id: str
    ticker: str
    side: OrderSide
    quantity: Decimal | None = None
    notional: Decimal | None = None
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Decimal | None = None
    as_of: datetime | None = None  # market time the simulated broker fills against


@dataclass(frozen=True)
class Fill:
    """One execution; ``execution_id`` is unique per order at the broker."""

    execution_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    occurred_at: datetime
    cumulative_quantity: Decimal


@dataclass(frozen=True)
class BrokerOrder:
    """The broker's view of an order."""

    broker_order_id: str
    client_order_id: str
    ticker: str
    side: OrderSide
    status: OrderStatus
    filled_quantity: Decimal
    filled_avg_price: Decimal | None
    fills: tuple[Fill, ...] = ()
    reject_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountState:
    """Balances at the broker."""

    external_account_id: str
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    status: str
    last_equity: Decimal | None = None


@dataclass(frozen=True)
class BrokerPosition:
    """A position at the broker."""

    ticker: str
    quantity: Decimal
    avg_entry_price: Decimal


class Broker(Protocol):
    """A broker adapter. Every method raises only ``BrokerError`` subclasses."""

    name: str

    def account(self) -> AccountState: ...

    def submit(self, request: OrderRequest) -> BrokerOrder: ...

    def get_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None: ...

    def positions(self) -> list[BrokerPosition]: ...

    def open_orders(self) -> list[BrokerOrder]: ...

    def close(self) -> None: ...


@runtime_checkable
class BatchBroker(Protocol):
    """A broker that places several orders in one call, idempotent per client_order_id
    (so no look-up is needed first); rejections come back as ``rejected`` orders."""

    def submit_many(self, requests: Sequence[OrderRequest]) -> list[BrokerOrder]: ...
