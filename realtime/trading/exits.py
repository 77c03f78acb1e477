"""Exits: each open position's stop, target and trailing stop, evaluated on new bars.

Before the exits, the open positions are marked to the bar's close (unrealised P&L,
equity, a portfolio snapshot) and the circuit breaker checks the result, so a loss that is
not realised yet can trip the daily-loss or drawdown breaker.

A triggered exit becomes a SELL decision through the trading engine (decision key
``exit:<position>:<bar time>``, so re-evaluating the same bar never sells twice) and from
there the same broker queue as every other order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from realtime.broker.ledger import mark_to_market
from realtime.notifications import Notification, Notifier
from realtime.risk.circuit_breaker import BreakerState
from realtime.risk.portfolio import consecutive_losses, load_portfolio
from realtime.sql import table_of
from realtime.trading.engine import ProposedTrade, TradingEngine
from stonks.models.enums import OrderSide
from stonks.models.orders import DecisionTrigger
from stonks.models.portfolio import Position, PositionStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExitSignal:
    position_id: int
    ticker: str
    reason: str  # 'stop_loss', 'trailing_stop', 'target'
    price: Decimal


class ExitMonitor:
    """Checks open positions of the trading engine's account against the bar at a moment."""

    def __init__(self, engine: TradingEngine, notifier: Notifier | None = None) -> None:
        self.engine = engine
        self.notifier = notifier

    def check(self, moment: datetime) -> list[ExitSignal]:
        """Mark the open positions to the bar at ``moment``, let the breaker see the result,
        move trailing stops and turn triggered exits into sell decisions."""
        self.mark_to_market(moment)
        p = table_of(Position)
        signals: list[ExitSignal] = []
        with self.engine.db.begin() as conn:
            rows = conn.execute(sa.select(p).where(
                p.c.broker_account_id == self.engine.account_id,
                p.c.status == PositionStatus.OPEN.value)).all()
            for row in rows:
                bar = self.engine.bars.snapshot(row.ticker, moment)
                if bar is None:
                    continue
                high, low = Decimal(str(bar.high)), Decimal(str(bar.low))
                trailing = row.trailing_stop
                water = max(Decimal(row.high_water_price or high), high)
                if trailing is not None and row.high_water_price is not None:
                    # The trailing stop keeps its distance below the highest price seen.
                    trailing = max(Decimal(trailing),
                                   water - (Decimal(row.high_water_price) - Decimal(trailing)))
                    conn.execute(sa.update(p).where(p.c.id == row.id).values(
                        trailing_stop=trailing, high_water_price=water))
                signal = _triggered(row, low, high, trailing)
                if signal is not None:
                    signals.append(signal)
        for signal in signals:
            self._exit(signal, moment)
        return signals

    def mark_to_market(self, moment: datetime) -> BreakerState:
        """Value open positions at the last close and check the circuit breaker on it."""
        engine = self.engine

        def close_of(ticker: str) -> Decimal | None:
            bar = engine.bars.snapshot(ticker, moment)
            return None if bar is None else Decimal(str(bar.close))

        with engine.db.begin() as conn:
            if not mark_to_market(conn, engine.account_id, close_of):
                return engine.breaker.state()
            before = engine.breaker.state().tripped
            state = engine.breaker.check(
                conn, load_portfolio(conn, engine.account_id), engine.limits,
                consecutive_losses=consecutive_losses(conn, engine.account_id))
        if state.tripped and not before and self.notifier is not None:
            self.notifier.notify(Notification("circuit_breaker", "Circuit breaker tripped",
                                              state.reason or ""))
        return state

    def _exit(self, signal: ExitSignal, moment: datetime) -> None:
        key = f"exit:{signal.position_id}:{int(moment.timestamp())}"
        job = self.engine.decide(ProposedTrade(
            decision_key=key, trigger=DecisionTrigger.EXIT, ticker=signal.ticker,
            side=OrderSide.SELL, moment=moment, origin_at=moment, price=signal.price))
        logger.info("exit triggered", extra={"ticker": signal.ticker, "reason": signal.reason,
                                             "acted": job is not None})
        if job is not None and self.notifier is not None and signal.reason != "target":
            self.notifier.notify(Notification(
                "stop_loss", f"Stop triggered: {signal.ticker}",
                f"{signal.reason} at {signal.price}; selling {job.quantity}"))


def _triggered(row: sa.Row[tuple[object, ...]], low: Decimal, high: Decimal,
               trailing: Decimal | None) -> ExitSignal | None:
    stop = getattr(row, "stop_loss", None)
    target = getattr(row, "take_profit", None)
    position_id, ticker = int(getattr(row, "id")), str(getattr(row, "ticker"))  # noqa: B009
    if stop is not None and low <= Decimal(stop):
        return ExitSignal(position_id, ticker, "stop_loss", Decimal(stop))
    if trailing is not None and low <= trailing:
        return ExitSignal(position_id, ticker, "trailing_stop", trailing)
    if target is not None and high >= Decimal(target):
        return ExitSignal(position_id, ticker, "target", Decimal(target))
    return None
