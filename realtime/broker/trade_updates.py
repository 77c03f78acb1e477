"""Fills as they happen: Alpaca's ``trade_updates`` websocket, booked through ``BrokerService``.

The protocol is alpaca-py's ``TradingStream`` (Alpaca's "Websocket Streaming" docs): the
client sends ``{"action": "authenticate", "data": {"key_id", "secret_key"}}`` and the server
answers on the ``authorization`` stream with ``status`` ``authorized`` or ``unauthorized``;
then ``{"action": "listen", "data": {"streams": ["trade_updates"]}}``, acknowledged on the
``listening`` stream. Every event then arrives as ``{"stream": "trade_updates", "data":
{"event", "execution_id", "order", "timestamp", "price", "qty", "position_qty"}}`` — JSON, in
binary frames on the paper endpoint.

The stream runs on its own thread and event loop. Each event's ``order`` goes through the
REST adapter's mapping (``to_broker_order``), so a fill seen on the stream and the same fill
seen by polling carry the same execution key and are booked once. alpaca-py reconnects with
backoff; after every reconnect the polling sync runs once, because events sent while we were
away are not replayed. Polling stays the fallback: the stream only makes fills arrive sooner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alpaca.trading.models import TradeUpdate
from alpaca.trading.stream import TradingStream
from pydantic import ValidationError

from realtime.broker.alpaca import to_broker_order
from realtime.broker.base import BrokerOrder
from realtime.broker.errors import BrokerAuthError, BrokerError, BrokerTimeout
from realtime.broker.service import BrokerService
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.orders import Order

logger = logging.getLogger(__name__)

#: Events that report an execution: their order must carry the cumulative fill.
FILL_EVENTS = frozenset({"fill", "partial_fill"})

TradeUpdateHandler = Callable[[BrokerOrder], object]


def stream_url(settings: Settings) -> str:
    """``STONKS_ALPACA_STREAM_URL``, else the REST base URL as ``ws(s)://…/stream``."""
    if settings.alpaca_stream_url:
        return settings.alpaca_stream_url
    parts = urlsplit(settings.alpaca_base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/stream", "", ""))


def trade_update_order(update: TradeUpdate) -> BrokerOrder:
    """Our view of the order inside a trade update; its fill is stamped with the event time."""
    order = to_broker_order(update.order)
    event = str(getattr(update.event, "value", update.event))
    if event in FILL_EVENTS and not order.fills:
        raise ValueError(f"{event} event whose order has no filled_qty/filled_avg_price")
    fills = tuple(replace(fill, occurred_at=update.timestamp) for fill in order.fills)
    raw = {**order.raw, "event": event,
           "execution_id": None if update.execution_id is None else str(update.execution_id)}
    return replace(order, fills=fills, raw=raw)


def book_trade_update(service: BrokerService, order: BrokerOrder) -> bool:
    """Book a trade update if the order is one of ours; False (and nothing booked) if not."""
    o = table_of(Order)
    with service.db.connect() as conn:
        row = conn.execute(sa.select(o.c.id, o.c.raw).where(
            o.c.client_order_id == order.client_order_id,
            o.c.broker_account_id == service.account_id)).first()
    if row is None:
        # The account may also be traded by hand or by another system.
        logger.debug("trade update for an order that is not ours ignored",
                     extra={"client_order_id": order.client_order_id,
                            "broker_order_id": order.broker_order_id})
        return False
    service.apply(int(row.id), order, (row.raw or {}).get("exits"))
    return True


class _Stream(TradingStream):
    """alpaca-py's ``TradingStream`` with a bounded wait for the authorization reply, a
    refusal that stops the stream (new credentials need a restart anyway), and a hook run
    after every successful connect."""

    def __init__(self, owner: TradeUpdatesListener, api_key: str, secret_key: str, url: str,
                 *, timeout_s: float, min_backoff_s: float, max_backoff_s: float) -> None:
        super().__init__(api_key, secret_key, paper=True, raw_data=True, url_override=url,
                         websocket_params={"ping_interval": 10, "ping_timeout": 60,
                                           "max_queue": 1024, "open_timeout": timeout_s,
                                           "close_timeout": timeout_s})
        self._owner = owner
        self._timeout_s = timeout_s
        self._reconnect_min_backoff = min_backoff_s
        self._reconnect_max_backoff = max_backoff_s

    async def _auth(self) -> None:
        ws: Any = self._ws  # connected by ``_connect`` just before
        await ws.send(json.dumps({"action": "authenticate", "data": {
            "key_id": self._api_key, "secret_key": self._secret_key}}))
        try:
            reply = await asyncio.wait_for(ws.recv(), self._timeout_s)
        except TimeoutError as exc:
            raise BrokerTimeout(f"no authorization reply within {self._timeout_s}s") from exc
        status = _authorization_status(reply)
        if status == "unauthorized":
            self._owner.unauthorized = True
            logger.error("alpaca refused the credentials on the trade_updates stream; "
                         "fills arrive by polling only", extra={"url": self._endpoint})
            await self.stop_ws()
            raise BrokerAuthError("alpaca refused the credentials on the trade_updates stream")
        if status != "authorized":
            raise BrokerError(f"unexpected authorization status {status!r} from alpaca")

    async def _start_ws(self) -> None:
        await super()._start_ws()  # type: ignore[no-untyped-call]
        await self._owner._connected()

    async def halt(self) -> None:
        """Stop reconnecting and close the socket, so a blocked read ends now."""
        await self.stop_ws()
        await self.close()


def _authorization_status(reply: str | bytes) -> str:
    try:
        message = json.loads(reply)
        if message["stream"] != "authorization":
            raise ValueError(f"expected the authorization stream, got {message['stream']!r}")
        return str(message["data"]["status"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BrokerError(f"malformed authorization reply from alpaca: {exc}; "
                          f"got {reply[:200]!r}") from exc


class TradeUpdatesListener:
    """Alpaca's trade-updates stream on a background thread with its own event loop."""

    def __init__(self, api_key: str, secret_key: str, url: str, on_update: TradeUpdateHandler,
                 *, resync: Callable[[], object] | None = None, timeout_s: float = 10.0,
                 min_backoff_s: float = 1.0, max_backoff_s: float = 30.0) -> None:
        self.url = url
        self.on_update = on_update
        self.resync = resync
        self.connections = 0  # successful connects (authorized and listening)
        self.unauthorized = False
        self.connected = threading.Event()
        self._stream = _Stream(self, api_key, secret_key, url, timeout_s=timeout_s,
                               min_backoff_s=min_backoff_s, max_backoff_s=max_backoff_s)
        self._stream.subscribe_trade_updates(self._on_message)
        self._thread = threading.Thread(target=self._run, name="alpaca-trade-updates",
                                        daemon=True)

    @classmethod
    def for_service(cls, settings: Settings, service: BrokerService) -> TradeUpdatesListener:
        """The listener of the configured Alpaca account, booking into ``service``."""
        if settings.alpaca_api_key_id is None or settings.alpaca_secret_key is None:
            raise BrokerAuthError("STONKS_ALPACA_API_KEY_ID and STONKS_ALPACA_SECRET_KEY are "
                                  "required for the trade_updates stream")
        return cls(settings.alpaca_api_key_id.get_secret_value(),
                   settings.alpaca_secret_key.get_secret_value(), stream_url(settings),
                   partial(book_trade_update, service), resync=service.sync_open_orders,
                   timeout_s=settings.broker_timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the stream and wait for its thread (at most ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            loop = self._stream._loop
            # Until the stream has set itself up (which records its loop) a stop request
            # would be cleared by that set-up, so wait for it.
            if loop is not None and loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._stream.halt(), loop)
                try:
                    future.result(max(0.0, deadline - time.monotonic()))
                except Exception:  # the loop ended meanwhile, or the close failed
                    logger.warning("closing the trade_updates stream failed", exc_info=True)
                break
            time.sleep(0.01)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            logger.warning("trade_updates listener still running after %.1fs", timeout_s)

    def _run(self) -> None:
        try:
            asyncio.run(self._stream._run_forever())  # type: ignore[no-untyped-call]
        except Exception:
            logger.exception("trade_updates listener stopped by an error; polling continues")
        logger.info("trade_updates listener stopped", extra={"url": self.url})

    async def _connected(self) -> None:
        self.connections += 1
        self.connected.set()
        logger.info("listening to alpaca trade_updates",
                    extra={"url": self.url, "connections": self.connections})
        if self.connections > 1 and self.resync is not None:
            # Events sent while we were disconnected are not replayed: poll once.
            try:
                await asyncio.to_thread(self.resync)
            except Exception:  # the periodic poll will catch up; keep the stream
                logger.exception("polling after a trade_updates reconnect failed")

    async def _on_message(self, message: dict[str, Any]) -> None:
        try:
            order = trade_update_order(TradeUpdate(**message["data"]))
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            logger.error("malformed trade update dropped: %s", str(exc)[:300],
                         extra={"frame": json.dumps(message, default=str)[:500]})
            return
        # Booking blocks on the database; off the loop, so pings keep being answered, and
        # awaited, so updates are booked in the order they arrived.
        try:
            await asyncio.to_thread(self.on_update, order)
        except Exception:
            logger.exception("booking a trade update failed; polling will catch it up",
                             extra={"client_order_id": order.client_order_id})
