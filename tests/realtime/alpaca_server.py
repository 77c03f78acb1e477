"""A local HTTP server speaking the parts of Alpaca's trading REST API v2 the adapter uses.

Routes and JSON shapes follow Alpaca's public docs: ``GET /v2/account``, ``GET /v2/clock``,
``POST /v2/orders`` (client_order_id must be unique: 422 otherwise), ``GET /v2/orders``,
``GET /v2/orders:by_client_order_id``, ``GET /v2/orders/{id}``, ``GET /v2/positions``.
Failure injection: accept an order and then answer 500/429 or stall past the client's
timeout; reject symbols; fill only part of an order.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.harness.postgres import free_port

ACCOUNT_ID = "904837e3-3b76-47ec-b432-046db621571b"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Behaviour:
    after_accept_status: int | None = None  # answer this instead of 200 once accepted
    after_accept_delay_s: float = 0.0  # stall this long before answering
    reject_symbols: set[str] = field(default_factory=set)
    fill_fraction: float = 1.0
    price: float = 250.0
    failures_left: int = 1


class AlpacaState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, tuple[float, float]] = {}
        self.cash = 100_000.0
        self.behaviour = Behaviour()
        self.submissions = 0

    def order_json(self, symbol: str, qty: float, side: str,
                   client_order_id: str) -> dict[str, Any]:
        b = self.behaviour
        filled = qty * b.fill_fraction
        now = _now()
        status = "filled" if filled >= qty else ("partially_filled" if filled > 0 else "new")
        return {
            "id": str(uuid.uuid4()), "client_order_id": client_order_id, "created_at": now,
            "updated_at": now, "submitted_at": now,
            "filled_at": now if status == "filled" else None, "expired_at": None,
            "canceled_at": None, "failed_at": None, "replaced_at": None, "replaced_by": None,
            "replaces": None, "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol, "asset_class": "us_equity", "notional": None, "qty": str(qty),
            "filled_qty": str(filled), "filled_avg_price": str(b.price) if filled else None,
            "order_class": "simple", "order_type": "market", "type": "market", "side": side,
            "time_in_force": "day", "limit_price": None, "stop_price": None, "status": status,
            "extended_hours": False, "legs": None, "trail_percent": None, "trail_price": None,
            "hwm": None,
        }

    def book(self, symbol: str, side: str, qty: float, price: float) -> None:
        if not qty:  # accepted, nothing filled yet
            return
        held, avg = self.positions.get(symbol, (0.0, 0.0))
        if side == "buy":
            self.positions[symbol] = (held + qty, (held * avg + qty * price) / (held + qty))
            self.cash -= qty * price
        else:
            self.positions[symbol] = (held - qty, avg)
            self.cash += qty * price

    def complete(self, client_order_id: str) -> None:
        """Fill the rest of a partially filled order (the market moved on)."""
        with self.lock:
            order = self.orders[client_order_id]
            rest = float(order["qty"]) - float(order["filled_qty"])
            self.book(order["symbol"], order["side"], rest, self.behaviour.price)
            order.update(filled_qty=order["qty"], status="filled", filled_at=_now(),
                         updated_at=_now(),
                         filled_avg_price=order["filled_avg_price"] or str(self.behaviour.price))


def _handler(state: AlpacaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: int, message: str) -> None:
            self._send(status, {"code": code, "message": message})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if not self.headers.get("APCA-API-KEY-ID"):
                return self._error(401, 40110000, "request is not authorized")
            with state.lock:
                if url.path == "/v2/account":
                    equity = state.cash + sum(q * a for q, a in state.positions.values())
                    return self._send(200, {
                        "id": ACCOUNT_ID, "account_number": "PA3TEST", "status": "ACTIVE",
                        "currency": "USD", "cash": f"{state.cash:.2f}",
                        "equity": f"{equity:.2f}", "last_equity": f"{equity:.2f}",
                        "buying_power": f"{state.cash:.2f}", "pattern_day_trader": False,
                        "trading_blocked": False, "transfers_blocked": False,
                        "account_blocked": False, "created_at": _now(),
                    })
                if url.path == "/v2/clock":
                    return self._send(200, {"timestamp": _now(), "is_open": True,
                                            "next_open": _now(), "next_close": _now()})
                if url.path == "/v2/orders:by_client_order_id":
                    order = state.orders.get(query.get("client_order_id", [""])[0])
                    if order is None:
                        return self._error(404, 40410000, "order not found")
                    return self._send(200, order)
                if url.path == "/v2/orders":
                    open_ = [o for o in state.orders.values()
                             if o["status"] in ("new", "accepted", "partially_filled")]
                    return self._send(200, open_)
                if url.path == "/v2/positions":
                    return self._send(200, [{
                        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, s)), "symbol": s,
                        "exchange": "NASDAQ", "asset_class": "us_equity",
                        "avg_entry_price": str(a), "qty": str(q), "side": "long",
                        "cost_basis": str(q * a), "market_value": str(q * a),
                    } for s, (q, a) in state.positions.items() if q])
            return self._error(404, 40410000, "route not found")

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/v2/orders":
                return self._error(404, 40410000, "route not found")
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            b = state.behaviour
            with state.lock:
                state.submissions += 1
                cid = body.get("client_order_id") or str(uuid.uuid4())
                if cid in state.orders:
                    return self._error(422, 40010001, "client_order_id must be unique")
                if body["symbol"] in b.reject_symbols:
                    return self._error(403, 40310000, "insufficient buying power")
                order = state.order_json(body["symbol"], float(body["qty"]), body["side"], cid)
                state.orders[cid] = order
                state.book(body["symbol"], body["side"], float(order["filled_qty"]), b.price)
                fail = b.after_accept_status if b.failures_left > 0 else None
                delay = b.after_accept_delay_s if b.failures_left > 0 else 0.0
                if fail or delay:
                    b.failures_left -= 1
            if delay:
                time.sleep(delay)
            if fail:
                return self._error(fail, 50010000 if fail >= 500 else 42910000,
                                   "internal error" if fail >= 500 else "rate limit exceeded")
            self._send(200, order)

    return Handler


class AlpacaServer:
    """Serve on 127.0.0.1 in a thread (``with AlpacaServer() as server: server.url``)."""

    def __init__(self) -> None:
        self.state = AlpacaState()
        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.state))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AlpacaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
