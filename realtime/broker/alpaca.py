"""Alpaca (paper by default) through alpaca-py's TradingClient.

alpaca-py's errors (``APIError``) and requests' (timeouts, connection errors) are mapped
onto ``BrokerError`` here; callers never see them. alpaca-py's own retry of 429/504 is
switched off: a blind re-send after an unknown outcome is exactly what must not happen, so
``BrokerService`` looks the order up by client_order_id first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest

from realtime.broker.base import AccountState, BrokerOrder, BrokerPosition, Fill, OrderRequest
from realtime.broker.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    OrderRejected,
)
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import OrderStatus, OrderType

logger = logging.getLogger(__name__)
T = TypeVar("T")

_STATUS = {
    "new": OrderStatus.SUBMITTED, "accepted": OrderStatus.SUBMITTED,
    "pending_new": OrderStatus.SUBMITTED, "accepted_for_bidding": OrderStatus.SUBMITTED,
    "held": OrderStatus.SUBMITTED, "calculated": OrderStatus.SUBMITTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
    "done_for_day": OrderStatus.PARTIALLY_FILLED, "pending_cancel": OrderStatus.PENDING_CANCEL,
    "canceled": OrderStatus.CANCELED, "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED, "stopped": OrderStatus.SUBMITTED,
    "suspended": OrderStatus.SUBMITTED, "pending_replace": OrderStatus.SUBMITTED,
    "replaced": OrderStatus.CANCELED,
}


class _TimeoutSession(requests.Session):
    """A requests session whose every call has an explicit timeout."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


class AlpacaBroker:
    """The Alpaca trading API as a ``Broker``."""

    name = "alpaca"

    def __init__(self, api_key: str, secret_key: str, base_url: str, timeout_s: float) -> None:
        paper = "paper" in base_url
        self.client = TradingClient(api_key, secret_key, paper=paper,
                                    url_override=base_url.rstrip("/"))
        self.client._session = _TimeoutSession(timeout_s)
        self.client._retry = 0  # we decide what to re-send (see the module docstring)

    @classmethod
    def from_settings(cls, settings: Settings) -> AlpacaBroker:
        if settings.alpaca_api_key_id is None or settings.alpaca_secret_key is None:
            raise BrokerAuthError("STONKS_ALPACA_API_KEY_ID and STONKS_ALPACA_SECRET_KEY are "
                                  "required when STONKS_BROKER=alpaca")
        return cls(settings.alpaca_api_key_id.get_secret_value(),
                   settings.alpaca_secret_key.get_secret_value(), settings.alpaca_base_url,
                   settings.broker_timeout_s)

    def close(self) -> None:
        self.client._session.close()

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except APIError as exc:
            status = exc.status_code
            if status == 401:
                raise BrokerAuthError(f"alpaca refused the credentials ({status})") from exc
            if status is None or status == 429 or status >= 500:
                raise BrokerUnavailable(f"alpaca answered {status}: {_message(exc)}") from exc
            raise OrderRejected(f"alpaca {status}: {_message(exc)}") from exc
        except requests.Timeout as exc:
            raise BrokerTimeout(f"alpaca timed out: {exc}") from exc
        except requests.RequestException as exc:
            raise BrokerUnavailable(f"alpaca unreachable: {exc}") from exc
        except (ValueError, KeyError) as exc:  # malformed response body
            raise BrokerError(f"alpaca sent an unexpected response: {exc}") from exc

    def account(self) -> AccountState:
        a: Any = self._call(self.client.get_account)
        return AccountState(str(a.id), Decimal(a.cash or 0), Decimal(a.equity or 0),
                            Decimal(a.buying_power or 0), str(a.status.value
                                                              if hasattr(a.status, "value")
                                                              else a.status),
                            None if a.last_equity is None else Decimal(a.last_equity))

    def market_open(self) -> bool:
        clock: Any = self._call(self.client.get_clock)
        return bool(clock.is_open)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        side = AlpacaSide.BUY if request.side is OrderSide.BUY else AlpacaSide.SELL
        common: dict[str, Any] = {
            "symbol": request.ticker, "side": side, "time_in_force": AlpacaTif.DAY,
            "client_order_id": request.client_order_id,
        }
        if request.quantity is not None:
            common["qty"] = float(request.quantity)
        else:
            common["notional"] = float(request.notional or 0)
        order_data: MarketOrderRequest | LimitOrderRequest
        if request.order_type is OrderType.LIMIT:
            order_data = LimitOrderRequest(limit_price=float(request.limit_price or 0), **common)
        else:
            order_data = MarketOrderRequest(**common)
        order: Any = self._call(lambda: self.client.submit_order(order_data))
        return to_broker_order(order)

    def get_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None:
        try:
            order: Any = self._call(lambda: self.client.get_order_by_client_id(client_order_id))
        except OrderRejected as exc:
            if "404" in str(exc):
                return None
            raise
        return to_broker_order(order)

    def positions(self) -> list[BrokerPosition]:
        rows: Any = self._call(self.client.get_all_positions)
        return [BrokerPosition(p.symbol, Decimal(p.qty), Decimal(p.avg_entry_price))
                for p in rows]

    def open_orders(self) -> list[BrokerOrder]:
        rows: Any = self._call(lambda: self.client.get_orders(
            GetOrdersRequest(status=QueryOrderStatus.OPEN)))
        return [to_broker_order(o) for o in rows]


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except (ValueError, KeyError, TypeError):
        return str(exc)[:200]


def to_broker_order(order: AlpacaOrder) -> BrokerOrder:
    """Our view of an Alpaca order (REST answers and the order inside a trade update)."""
    status_text = order.status.value if hasattr(order.status, "value") else str(order.status)
    status = _STATUS.get(status_text, OrderStatus.SUBMITTED)
    filled = Decimal(order.filled_qty or 0)
    price = None if order.filled_avg_price is None else Decimal(order.filled_avg_price)
    fills: tuple[Fill, ...] = ()
    if filled > 0 and price is not None:
        # Polling sees cumulative fills; the cumulative quantity keys each increment once.
        at = order.filled_at or order.updated_at or datetime.now(UTC)
        fills = (Fill(f"{order.id}:{filled}", filled, price, Decimal(0), at, filled),)
    side = OrderSide.BUY if str(getattr(order.side, "value", order.side)) == "buy" \
        else OrderSide.SELL
    return BrokerOrder(
        broker_order_id=str(order.id), client_order_id=order.client_order_id,
        ticker=order.symbol or "", side=side, status=status, filled_quantity=filled,
        filled_avg_price=price, fills=fills,
        reject_reason="rejected by alpaca" if status is OrderStatus.REJECTED else None,
        raw={"status": status_text, "id": str(order.id)},
    )
