"""The FastAPI app factory: lifespan opens the database, Redis and broker; routers by concern.

Domain errors become HTTP responses in one place (``_domain_error``); validation errors are
FastAPI's 422. Nothing a client sends should produce a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from realtime.api import health, risk, trading
from realtime.broker.errors import BrokerError, BrokerUnavailable, OrderRejected
from realtime.broker.factory import make_broker
from realtime.errors import Conflict, InvalidRequest, NotFound, RealtimeError
from realtime.services import ControlService
from stonks.config import Settings, get_settings
from stonks.db.engine import create_engine_for
from stonks.redis_client import connect

logger = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[RealtimeError], int], ...] = (
    (NotFound, 404), (Conflict, 409), (InvalidRequest, 422), (OrderRejected, 422),
    (BrokerUnavailable, 503), (BrokerError, 502),
)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
    if status >= 500:
        logger.warning("request failed", extra={"path": request.url.path, "error": str(exc)})
    return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured app; connections open in the lifespan, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or get_settings()
        db = create_engine_for(s.effective_database_url)
        client = connect(settings=s)
        broker = make_broker(s, client)
        app.state.redis = client
        app.state.control = ControlService(db, client, s, broker)
        try:
            yield
        finally:
            broker.close()
            client.close()
            db.dispose()

    app = FastAPI(title="Stonks Oracle real-time API", lifespan=lifespan)
    app.add_exception_handler(RealtimeError, _domain_error)
    for router in (health.router, trading.router, risk.router):
        app.include_router(router)
    return app
