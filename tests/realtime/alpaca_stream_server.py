"""A local websocket server speaking Alpaca's trading stream (``/stream``) for ``trade_updates``.

Protocol as Alpaca's "Websocket Streaming" docs give it and alpaca-py's ``TradingStream``
speaks it: the client authenticates with ``{"action": "authenticate", "data": {"key_id",
"secret_key"}}`` and is answered on the ``authorization`` stream (``authorized``, or
``unauthorized`` and the connection is closed); ``{"action": "listen", "data": {"streams":
[...]}}`` is acknowledged on the ``listening`` stream (a listen before authorization is
answered ``unauthorized`` with ``action: listen``); events are
``{"stream": "trade_updates", "data": {...}}`` in binary frames, as the paper endpoint sends.

The test scripts the events (``push``), raw frames (``push_raw``), drops every connection
(``drop``) and refuses new ones for a while (``refuse``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.harness.postgres import free_port

TIMEOUT_S = 5.0


def trade_update(event: str, order: dict[str, Any], *, qty: float | None = None,
                 price: float | None = None) -> dict[str, Any]:
    """The ``data`` of a trade_updates event; a fill's ``order`` carries the cumulative fill."""
    data: dict[str, Any] = {"event": event, "order": order,
                            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    if event in ("fill", "partial_fill"):
        data.update(execution_id=str(uuid.uuid4()), qty=str(qty), price=str(price),
                    position_qty=order["filled_qty"])
    return data


def filled(order: dict[str, Any], cumulative: float, avg_price: float) -> dict[str, Any]:
    """``order`` after fills totalling ``cumulative`` shares at ``avg_price`` on average."""
    done = cumulative >= float(order["qty"])
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {**order, "filled_qty": str(cumulative), "filled_avg_price": str(avg_price),
            "status": "filled" if done else "partially_filled", "updated_at": now,
            "filled_at": now if done else None}


class AlpacaStreamServer:
    """Serve on 127.0.0.1 in a thread (``with AlpacaStreamServer("key", "secret") as s``)."""

    def __init__(self, key_id: str, secret_key: str) -> None:
        self.key_id = key_id
        self.secret_key = secret_key
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.auth_attempts = 0
        self.listening: set[ServerConnection] = set()
        self.refusing = False
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="alpaca-stream")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    def __enter__(self) -> AlpacaStreamServer:
        self._thread.start()
        if not self._ready.wait(TIMEOUT_S):
            raise RuntimeError("the stream server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT_S)

    # ---- what a test does ----------------------------------------------------------------

    def push(self, data: dict[str, Any]) -> int:
        """Send one trade_updates event to every listening client; how many got it."""
        return self.push_raw(json.dumps({"stream": "trade_updates", "data": data}).encode())

    def push_raw(self, frame: bytes) -> int:
        return int(self._call(self._broadcast(frame)))

    def drop(self) -> None:
        """Close every connection, as a server restart or a network cut would."""
        self._call(self._close_all())

    def refuse(self, refusing: bool) -> None:
        """While refusing, the opening handshake is answered 503."""
        self.refusing = refusing

    def listeners(self) -> int:
        return len(self.listening)

    # ---- the server ----------------------------------------------------------------------

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT_S)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(self._serve())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _serve(self) -> Server:
        return await serve(self._handle, "127.0.0.1", self.port, process_request=self._gate)

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refusing:
            return Response(503, "Service Unavailable", Headers(), b"try again later")
        return None

    async def _shutdown(self) -> None:
        await self._close_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _close_all(self) -> None:
        connections = list(self._server.connections) if self._server else []
        self.listening.clear()
        for connection in connections:
            await connection.close()

    async def _broadcast(self, frame: bytes) -> int:
        sent = 0
        for connection in list(self.listening):
            try:
                await connection.send(frame)  # bytes: a binary frame
                sent += 1
            except ConnectionClosed:
                self.listening.discard(connection)
        return sent

    async def _reply(self, connection: ServerConnection, stream: str,
                     data: dict[str, Any]) -> None:
        await connection.send(json.dumps({"stream": stream, "data": data}).encode())

    async def _handle(self, connection: ServerConnection) -> None:
        authorized = False
        try:
            async for frame in connection:
                try:
                    message = json.loads(frame)
                    action, data = message["action"], message.get("data") or {}
                except (ValueError, KeyError, TypeError):
                    await self._reply(connection, "error", {"error": "invalid message"})
                    continue
                self.received.append(message)
                if action == "authenticate":
                    self.auth_attempts += 1
                    authorized = (data.get("key_id") == self.key_id
                                  and data.get("secret_key") == self.secret_key)
                    await self._reply(connection, "authorization", {
                        "status": "authorized" if authorized else "unauthorized",
                        "action": "authenticate"})
                    if not authorized:
                        await connection.close()
                        return
                elif action == "listen":
                    if not authorized:
                        await self._reply(connection, "authorization",
                                          {"status": "unauthorized", "action": "listen"})
                        continue
                    streams = [s for s in data.get("streams", []) if s == "trade_updates"]
                    await self._reply(connection, "listening", {"streams": streams})
                    if streams:
                        self.listening.add(connection)
                    else:
                        self.listening.discard(connection)
        except ConnectionClosed:
            pass
        finally:
            self.listening.discard(connection)
