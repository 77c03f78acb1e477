"""The embedded broker: fills market orders against the latest bar with slippage and fees.

Its book (orders by client_order_id, positions, cash) lives in Redis so every worker process
sees the same account and a restart keeps it, like a real broker would. Orders larger than
the bar's volume times the participation cap fill partially.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
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
MAX_ATTEMPTS = 100  # book changed under us this often in a row: give up (nothing placed)

#: Places a batch in one round trip, all or nothing. KEYS: orders, positions, cash. ARGV:
#: n orders, t tickers, the n client_order_ids, t (ticker, book value the fills were
#: computed on, "" for none), k tickers to write, k (ticker, new book value), the n order
#: records, the cash delta. Writes only if none of the orders exists and every book value
#: is as expected; else answers {0, each order's record or "", each ticker's book value}.
PLACE_SCRIPT = """
local n, t = tonumber(ARGV[1]), tonumber(ARGV[2])
local cids, tickers, expected = {}, {}, {}
for i = 1, n do cids[i] = ARGV[2 + i] end
local p = 3 + n
for i = 1, t do tickers[i] = ARGV[p]; expected[i] = ARGV[p + 1]; p = p + 2 end
local known, book, clash = {}, {}, false
for i = 1, n do
  known[i] = redis.call('HGET', KEYS[1], cids[i]) or ''
  if known[i] ~= '' then clash = true end
end
for i = 1, t do
  book[i] = redis.call('HGET', KEYS[2], tickers[i]) or ''
  if book[i] ~= expected[i] then clash = true end
end
if clash then
  local out = {0}
  for i = 1, n do out[#out + 1] = known[i] end
  for i = 1, t do out[#out + 1] = book[i] end
  return out
end
local k = tonumber(ARGV[p]); p = p + 1
for i = 1, k do redis.call('HSET', KEYS[2], ARGV[p], ARGV[p + 1]); p = p + 2 end
for i = 1, n do redis.call('HSET', KEYS[1], cids[i], ARGV[p]); p = p + 1 end
if n > 0 then redis.call('INCRBYFLOAT', KEYS[3], ARGV[p]) end
return {1}
"""


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
        self._script = client.register_script(PLACE_SCRIPT)
        # This process's copy of the book (ticker → stored value), checked by the script.
        self._book: dict[str, str] = {}

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

        One round trip: the fills are computed here against this process's copy of the
        book, and one Lua script checks that none of the orders exists yet and that the
        book of every ticker is what the fills were computed on, then writes the orders,
        the book and the cash at once. If not (another process placed orders, an order was
        placed before, or this copy is cold), it writes nothing and answers with the
        current values, and the batch is computed again on them. A known client_order_id
        returns the order placed before, never a second one."""
        if not requests:
            return []
        try:
            return self._submit_checked(requests)
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"simulated broker store: {exc}") from exc

    def _submit_checked(self, requests: Sequence[OrderRequest]) -> list[BrokerOrder]:
        tickers = sorted({r.ticker for r in requests})
        # What does not depend on the book is computed once: the fill, or why it cannot be.
        priced: dict[str, _Priced | OrderRejected] = {}
        for request in requests:
            if request.client_order_id not in priced:
                try:
                    priced[request.client_order_id] = self._fill(request)
                except OrderRejected as exc:
                    priced[request.client_order_id] = exc
        known: dict[str, BrokerOrder] = {}  # placed before this call, by client_order_id
        for _ in range(MAX_ATTEMPTS):
            seen = {t: self._book.get(t, "") for t in tickers}
            book = {t: _parse_held(seen[t] or None) for t in tickers}
            results: list[BrokerOrder] = []
            records: dict[str, str] = {}
            done: dict[str, BrokerOrder] = {}
            cash = Decimal(0)
            touched: set[str] = set()
            judged = False  # a sell was refused on this copy of the book
            for request in requests:
                cid = request.client_order_id
                if cid in known or cid in done:  # the same order, never a second
                    results.append(known.get(cid) or done[cid])
                    continue
                fill = priced[cid]
                if not isinstance(fill, OrderRejected) and request.side is OrderSide.SELL \
                        and -fill.signed > book[request.ticker][0]:
                    fill = OrderRejected(f"insufficient qty: {book[request.ticker][0]} "
                                         f"{request.ticker} held")
                    judged = True
                if isinstance(fill, OrderRejected):
                    results.append(BrokerOrder("", cid, request.ticker, request.side,
                                               OrderStatus.REJECTED, Decimal(0), None,
                                               reject_reason=str(fill)))
                    continue
                book[request.ticker] = _moved(book[request.ticker], fill.signed, fill.price)
                touched.add(request.ticker)
                cash += -(fill.signed * fill.price) - fill.fee
                records[cid] = json.dumps(fill.record)
                done[cid] = _order(fill.record)
                results.append(done[cid])
            if not records and not judged:  # nothing to place, nothing read from the book
                return results
            written = {t: f"{book[t][0]}|{book[t][1]}" for t in sorted(touched)}
            reply = self._place(records, seen, written, cash)
            if reply is None:
                self._book.update(written)
                return results
            existing, current = reply
            known.update({cid: _order(json.loads(blob)) for cid, blob in existing.items()})
            self._book.update(current)
        raise BrokerUnavailable("simulated broker book kept changing; nothing was placed")

    def _place(self, records: dict[str, str], seen: dict[str, str], written: dict[str, str],
               cash: Decimal) -> tuple[dict[str, bytes], dict[str, str]] | None:
        """Run the placing script: None when written, else the orders of ``records`` that
        exist already and the current book of every ticker of ``seen``."""
        cids = list(records)
        args: list[Any] = [len(cids), len(seen), *cids]
        for ticker, value in seen.items():
            args += [ticker, value]
        args.append(len(written))
        for ticker, value in written.items():
            args += [ticker, value]
        for cid in cids:
            args.append(records[cid])
        args.append(repr(float(cash)))
        reply: list[Any] = self._script(keys=[self._orders, self._positions, self._cash],
                                        args=args)
        if reply[0] == 1:
            return None
        existing = {cid: blob for cid, blob in zip(cids, reply[1:1 + len(cids)], strict=True)
                    if blob}
        current = {t: (v.decode() if isinstance(v, bytes) else str(v))
                   for t, v in zip(seen, reply[1 + len(cids):], strict=True)}
        return existing, current

    def _fill(self, request: OrderRequest) -> _Priced:
        """The broker's record of ``request`` filled against its bar (whether a sell is
        covered by the book is checked by the caller)."""
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
        return _Priced(record, sign * filled, price, fee)

    def set_position(self, ticker: str, quantity: Decimal, avg_price: Decimal) -> None:
        """Change the book behind our back (tests of reconciliation use it)."""
        self.client.hset(self._positions, ticker, f"{quantity}|{quantity * avg_price}")


@dataclass(frozen=True)
class _Priced:
    """An order filled against its bar: the broker's record, signed quantity, price, fee."""

    record: dict[str, Any]
    signed: Decimal
    price: Decimal
    fee: Decimal


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
