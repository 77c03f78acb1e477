"""The circuit breaker: trips on daily loss, consecutive losses or drawdown; reset by a human.

Live state is a Redis hash (read on every decision); every trip and reset is also a
``circuit_breaker_events`` row, the durable record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa

from realtime.risk.limits import RiskLimits
from realtime.risk.portfolio import PortfolioState
from realtime.sql import table_of
from stonks import redis_keys
from stonks.models.risk import BreakerEventKind, BreakerKind, CircuitBreakerEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BreakerState:
    tripped: bool
    breaker: str | None = None
    reason: str | None = None


class CircuitBreaker:
    """Reads, trips and resets the breaker of one account."""

    def __init__(self, client: redis.Redis, account_name: str) -> None:
        self.client = client
        self.key = redis_keys.circuit_breaker(account_name)
        # The state read with the batch a consumer thread is handling (``take_replies``).
        self._with_batch: tuple[int, BreakerState] | None = None

    def state(self) -> BreakerState:
        return self.parse(self.client.hgetall(self.key))

    # ---- read along with a consumer's batch (``stonks.queues.ReadAlong``) -------------------

    def queue_reads(self, pipe: Any) -> int:
        """The consumer's read pipeline carries the state's read: Redis runs it when the
        batch arrives, so it is as fresh as a read when the batch is handled."""
        self.queue_read(pipe)
        return 1

    def take_replies(self, replies: Sequence[Any] | None) -> None:
        """The state read with the batch about to be handled on this thread (None: the
        batch is done, the state is stale)."""
        self._with_batch = (None if replies is None
                            else (threading.get_ident(), self.parse(replies[0])))

    def batch_state(self) -> BreakerState:
        """The state read with the batch this thread is handling, once (a later call reads
        afresh); else, as on any other thread, a read of its own."""
        taken = self._with_batch
        if taken is not None and taken[0] == threading.get_ident():
            self._with_batch = None
            return taken[1]
        return self.state()

    def queue_read(self, pipe: Any) -> None:
        """Add the state's read to ``pipe`` (a pipeline): ``parse`` its reply."""
        pipe.hgetall(self.key)

    @staticmethod
    def parse(raw: Any) -> BreakerState:
        """The state from the reply of the breaker's HGETALL."""
        if not raw or raw.get(b"tripped") != b"1":
            return BreakerState(False)
        return BreakerState(True, raw.get(b"breaker", b"").decode(),
                            raw.get(b"reason", b"").decode())

    def check(self, conn: sa.Connection, portfolio: PortfolioState, limits: RiskLimits,
              consecutive_losses: int) -> BreakerState:
        """Trip if a limit is breached (already tripped stays tripped)."""
        current = self.state()
        if current.tripped:
            return current
        equity = portfolio.equity if portfolio.equity > 0 else Decimal(1)
        day_loss = -portfolio.day_pl / equity
        candidates = [
            (BreakerKind.DAILY_LOSS, day_loss, Decimal(str(limits.daily_loss_limit_fraction))),
            (BreakerKind.DRAWDOWN, portfolio.drawdown, Decimal(str(limits.max_drawdown_fraction))),
            (BreakerKind.CONSECUTIVE_LOSSES, Decimal(consecutive_losses),
             Decimal(limits.max_consecutive_losses)),
        ]
        for kind, value, limit in candidates:
            if value >= limit:
                reason = f"{kind.value} {value:.4f} reached the limit {limit}"
                self.trip(conn, portfolio.account_id, kind, reason, value, limit)
                return BreakerState(True, kind.value, reason)
        return current

    def trip(self, conn: sa.Connection, account_id: int | None, kind: BreakerKind, reason: str,
             value: Decimal | None = None, limit: Decimal | None = None) -> None:
        conn.execute(sa.insert(table_of(CircuitBreakerEvent)).values(
            broker_account_id=account_id, breaker=kind.value,
            event=BreakerEventKind.TRIPPED.value,
            observed_value=None if value is None else min(value, Decimal("999999")),
            threshold=limit, reason=reason, occurred_at=datetime.now(UTC), details={}))
        self.client.hset(self.key, mapping={"tripped": "1", "breaker": kind.value,
                                            "reason": reason,
                                            "at": datetime.now(UTC).isoformat()})
        logger.warning("circuit breaker tripped", extra={"breaker": kind.value, "reason": reason})

    def reset(self, conn: sa.Connection, account_id: int | None, actor: str) -> None:
        state = self.state()
        conn.execute(sa.insert(table_of(CircuitBreakerEvent)).values(
            broker_account_id=account_id, breaker=state.breaker or BreakerKind.MANUAL.value,
            event=BreakerEventKind.RESET.value, reason="reset", actor=actor,
            occurred_at=datetime.now(UTC), details={}))
        self.client.delete(self.key)
