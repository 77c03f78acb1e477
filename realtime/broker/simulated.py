"""The embedded broker: fills market orders against the latest bar with slippage and fees.

Its book (orders by client_order_id, positions, cash) lives in Redis so every worker process
sees the same account and a restart keeps it, like a real broker would. Orders larger than
the bar's volume times the participation cap fill partially.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
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
        # INCRBYFLOAT keeps a double: round away its binary noise (1e-13 on a million).
        cash = _d(self._call(self.client.get, self._cash).decode()).quantize(CENT)
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
        result = self.submit_many([request])[0]
        if result.status is OrderStatus.REJECTED and not result.broker_order_id:
            raise OrderRejected(result.reject_reason or "rejected")
        return result

    def submit_many(self, requests: Sequence[OrderRequest]) -> list[BrokerOrder]:
        """Place several orders atomically; their orders, rejections included (status
        ``rejected`` with the reason and no broker id).

        Optimistic: the book is read under WATCH and written in one MULTI/EXEC, retried if
        another process changed it meanwhile, so a batch costs four round trips. A known
        client_order_id returns the order placed before, never a second one."""
        if not requests:
            return []
        while True:
            try:
                return self._submit_watched(requests)
            except redis.WatchError:
                continue
            except redis.RedisError as exc:
                raise BrokerUnavailable(f"simulated broker store: {exc}") from exc

    def _submit_watched(self, requests: Sequence[OrderRequest]) -> list[BrokerOrder]:
        ids = [r.client_order_id for r in requests]
        tickers = sorted({r.ticker for r in requests})
        with self.client.pipeline(transaction=True) as pipe:
            pipe.watch(self._orders, self._positions)  # type: ignore[no-untyped-call]
            known = dict(zip(ids, pipe.hmget(self._orders, ids), strict=True))
            book = {t: _parse_held(blob) for t, blob in
                    zip(tickers, pipe.hmget(self._positions, tickers), strict=True)}
            results: list[BrokerOrder] = []
            records: dict[Any, str] = {}
            cash = Decimal(0)
            touched: set[str] = set()
            for request in requests:
                blob = known.get(request.client_order_id)
                if blob is not None:  # same client_order_id: the same order, never a second
                    results.append(_order(json.loads(blob)))
                    continue
                try:
                    record, signed, price, fee = self._fill(request, book[request.ticker][0])
                except OrderRejected as exc:
                    results.append(BrokerOrder("", request.client_order_id, request.ticker,
                                               request.side, OrderStatus.REJECTED, Decimal(0),
                                               None, reject_reason=str(exc)))
                    continue
                book[request.ticker] = _moved(book[request.ticker], signed, price)
                touched.add(request.ticker)
                cash += -(signed * price) - fee
                blob = json.dumps(record)
                known[request.client_order_id] = blob.encode()
                records[request.client_order_id] = blob
                results.append(_order(record))
            pipe.multi()
            if records:
                pipe.hset(self._orders, mapping=records)
                pipe.hset(self._positions, mapping={
                    t: f"{book[t][0]}|{book[t][1]}" for t in sorted(touched)})
                pipe.incrbyfloat(self._cash, float(cash))
            pipe.execute()
        return results

    def _fill(self, request: OrderRequest,
              held: Decimal) -> tuple[dict[str, Any], Decimal, Decimal, Decimal]:
        """The broker's record of ``request`` filled against its bar; signed qty, price, fee."""
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
        if request.side is OrderSide.SELL and qty > held:
            raise OrderRejected(f"insufficient qty: {held} {request.ticker} held")
        cap = _d(bar.volume * self.participation).quantize(QTY, ROUND_DOWN)
        filled = min(qty, cap)
        fee = (filled * self.fee_per_share).quantize(CENT)
        status = OrderStatus.FILLED if filled == qty else OrderStatus.PARTIALLY_FILLED
        record = {
            "id": f"sim-{request.client_order_id}", "client_order_id": request.client_order_id,
            "symbol": request.ticker, "side": request.side.value, "qty": str(qty),
            "status": status.value, "filled_qty": str(filled), "filled_avg_price": str(price),
            "fee": str(fee), "filled_at": datetime.now(UTC).isoformat(),
            "bar_at": bar.bar_at.isoformat(),
        }
        return record, sign * filled, price, fee

    def set_position(self, ticker: str, quantity: Decimal, avg_price: Decimal) -> None:
        """Change the book behind our back (tests of reconciliation use it)."""
        self.client.hset(self._positions, ticker, f"{quantity}|{quantity * avg_price}")


def _parse_held(blob: bytes | str | None) -> tuple[Decimal, Decimal]:
    """(quantity, cost) of one ticker in the book."""
    if blob is None:
        return Decimal(0), Decimal(0)
    text = blob.decode() if isinstance(blob, bytes) else blob
    qty, cost = (Decimal(x) for x in text.split("|"))
    return qty, cost


def _moved(held: tuple[Decimal, Decimal], signed_qty: Decimal,
           price: Decimal) -> tuple[Decimal, Decimal]:
    """The book of a ticker after a fill of ``signed_qty`` at ``price``."""
    qty, cost = held
    if signed_qty > 0:
        cost += signed_qty * price
    elif qty != 0:
        cost += signed_qty * (cost / qty)
    return qty + signed_qty, cost


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
