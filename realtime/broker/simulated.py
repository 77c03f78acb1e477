"""The embedded broker: fills market orders against the latest bar with slippage and fees.

Its book (orders by client_order_id, positions, cash) lives in Redis so every worker process
sees the same account and a restart keeps it, like a real broker would. Orders larger than
the bar's volume times the participation cap fill partially.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import redis

from realtime.broker.base import AccountState, BrokerOrder, BrokerPosition, Fill, OrderRequest
from realtime.broker.errors import BrokerUnavailable, OrderRejected
from realtime.market_data import BarStore
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import OrderStatus

logger = logging.getLogger(__name__)

QTY = Decimal("0.000001")
CENT = Decimal("0.0001")


def _d(value: float | str) -> Decimal:
    return Decimal(str(value))


class SimulatedBroker:
    """A broker account simulated on bars, shared through Redis."""

    name = "simulated"

    def __init__(self, client: redis.Redis, account: str, settings: Settings,
                 bars: BarStore | None = None) -> None:
        self.client = client
        self.account_name = account
        self.bars = bars or BarStore()
        self.slippage = Decimal(str(settings.simulated_slippage_bps)) / Decimal(10_000)
        self.fee_per_share = _d(settings.simulated_fee_per_share)
        self.participation = settings.simulated_max_volume_participation
        self._orders = redis_keys.simulated_broker(account, "orders")
        self._positions = redis_keys.simulated_broker(account, "positions")
        self._cash = redis_keys.simulated_broker(account, "cash")
        self.client.set(self._cash, str(settings.simulated_starting_cash), nx=True)

    def close(self) -> None:
        """Nothing to release: the Redis client belongs to the caller."""

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"simulated broker store: {exc}") from exc

    def account(self) -> AccountState:
        cash = _d(self._call(self.client.get, self._cash).decode())
        value = sum((p.quantity * p.avg_entry_price for p in self.positions()), Decimal(0))
        return AccountState("simulated-" + self.account_name, cash, cash + value, cash, "ACTIVE")

    def positions(self) -> list[BrokerPosition]:
        raw: dict[bytes, bytes] = self._call(self.client.hgetall, self._positions)
        out = []
        for ticker, blob in sorted(raw.items()):
            qty, cost = (Decimal(x) for x in blob.decode().split("|"))
            if qty != 0:
                out.append(BrokerPosition(ticker.decode(), qty, (cost / qty).quantize(CENT)))
        return out

    def get_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None:
        blob = self._call(self.client.hget, self._orders, client_order_id)
        return None if blob is None else _order(json.loads(blob))

    def open_orders(self) -> list[BrokerOrder]:
        raw: dict[bytes, bytes] = self._call(self.client.hgetall, self._orders)
        orders = [_order(json.loads(blob)) for blob in raw.values()]
        return [o for o in orders if o.status in (OrderStatus.SUBMITTED,
                                                  OrderStatus.PARTIALLY_FILLED)]

    def submit(self, request: OrderRequest) -> BrokerOrder:
        existing = self.get_by_client_order_id(request.client_order_id)
        if existing is not None:  # same client_order_id: the same order, never a second one
            return existing
        moment = request.as_of or datetime.now(UTC)
        bar = self.bars.snapshot(request.ticker, moment)
        if bar is None:
            raise OrderRejected(f"no market data for {request.ticker} at {moment.isoformat()}")
        sign = 1 if request.side is OrderSide.BUY else -1
        price = (_d(bar.close) * (1 + sign * self.slippage)).quantize(CENT)
        qty = request.quantity if request.quantity is not None else (
            (request.notional or Decimal(0)) / price).quantize(QTY, ROUND_DOWN)
        if qty <= 0:
            raise OrderRejected("order quantity rounds to zero")
        if request.side is OrderSide.SELL:
            held = self._held(request.ticker)[0]
            if qty > held:
                raise OrderRejected(f"insufficient qty: {held} {request.ticker} held")
        cap = _d(bar.volume * self.participation).quantize(QTY, ROUND_DOWN)
        filled = min(qty, cap)
        fee = (filled * self.fee_per_share).quantize(CENT)
        now = datetime.now(UTC)
        status = OrderStatus.FILLED if filled == qty else OrderStatus.PARTIALLY_FILLED
        record = {
            "id": f"sim-{request.client_order_id}", "client_order_id": request.client_order_id,
            "symbol": request.ticker, "side": request.side.value, "qty": str(qty),
            "status": status.value, "filled_qty": str(filled), "filled_avg_price": str(price),
            "fee": str(fee), "filled_at": now.isoformat(), "bar_at": bar.bar_at.isoformat(),
        }
        if not self._call(self.client.hsetnx, self._orders, request.client_order_id,
                          json.dumps(record)):
            found = self.get_by_client_order_id(request.client_order_id)
            assert found is not None
            return found
        self._book(request.ticker, sign * filled, price, fee)
        return _order(record)

    def _book(self, ticker: str, signed_qty: Decimal, price: Decimal, fee: Decimal) -> None:
        with self.client.lock(self._positions + ":lock", timeout=10, blocking_timeout=10):
            self._book_locked(ticker, signed_qty, price, fee)

    def _held(self, ticker: str) -> tuple[Decimal, Decimal]:
        """(quantity, cost) of one ticker in the book."""
        blob = self._call(self.client.hget, self._positions, ticker)
        if blob is None:
            return Decimal(0), Decimal(0)
        qty, cost = (Decimal(x) for x in blob.decode().split("|"))
        return qty, cost

    def _book_locked(self, ticker: str, signed_qty: Decimal, price: Decimal,
                     fee: Decimal) -> None:
        qty, cost = self._held(ticker)
        if signed_qty > 0:
            cost += signed_qty * price
        elif qty != 0:
            cost += signed_qty * (cost / qty)
        qty += signed_qty
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._positions, ticker, f"{qty}|{cost}")
        pipe.incrbyfloat(self._cash, float(-(signed_qty * price) - fee))
        self._call(pipe.execute)

    def set_position(self, ticker: str, quantity: Decimal, avg_price: Decimal) -> None:
        """Change the book behind our back (tests of reconciliation use it)."""
        self.client.hset(self._positions, ticker, f"{quantity}|{quantity * avg_price}")


def _order(record: dict[str, Any]) -> BrokerOrder:
    filled = Decimal(record["filled_qty"])
    price = Decimal(record["filled_avg_price"]) if record.get("filled_avg_price") else None
    fills: tuple[Fill, ...] = ()
    if filled > 0 and price is not None:
        fills = (Fill(f"{record['id']}-1", filled, price, Decimal(record["fee"]),
                      datetime.fromisoformat(record["filled_at"]), filled),)
    return BrokerOrder(
        broker_order_id=record["id"], client_order_id=record["client_order_id"],
        ticker=record["symbol"], side=OrderSide(record["side"]),
        status=OrderStatus(record["status"]), filled_quantity=filled, filled_avg_price=price,
        fills=fills, raw=record,
    )
