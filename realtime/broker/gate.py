"""Risk and approval of the broker's new orders, before their intent rows are written.

``RiskView`` is the account as ``evaluate_order`` sees it during one batch; ``gate`` decides
an order's status (submitting, rejected or held for approval) and what the intent write
records of that decision (``realtime.broker.intents.Gated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from realtime.broker.intents import Gated, Ref
from realtime.messages import BrokerOrderJob
from realtime.risk.circuit_breaker import BreakerState
from realtime.risk.limits import RiskLimits
from realtime.risk.orders import evaluate_order
from realtime.risk.portfolio import HeldPosition, PortfolioState
from stonks.models.enums import OrderSide
from stonks.models.orders import DecisionTrigger, OrderStatus
from stonks.models.risk import EvaluationScope


@dataclass
class RiskView:
    """The account as ``evaluate_order`` sees it during one batch: loaded once, then moved
    by every order the batch approves, so later orders see the exposure of earlier ones."""

    portfolio: PortfolioState
    limits: RiskLimits
    breaker: BreakerState

    def commit(self, ticker: str, side: OrderSide, quantity: Decimal, price: Decimal,
               sector: str | None) -> None:
        p = self.portfolio
        held = p.positions.get(ticker)
        sign = 1 if side is OrderSide.BUY else -1
        qty = (held.quantity if held else Decimal(0)) + sign * quantity
        value = (held.market_value if held else Decimal(0)) + sign * quantity * price
        self.portfolio = p.with_position(
            HeldPosition(ticker, qty, value, held.sector if held else sector),
            cash=p.cash - sign * quantity * price)


def gate(ref: Ref, job: BrokerOrderJob, risk: RiskView) -> Gated:
    """Risk and approval for an order not gated yet; the status it moves to."""
    quantity = ref.quantity if ref.quantity is not None else Decimal(0)
    price = job.reference_price or (ref.limit_price or Decimal(0))
    sector = job.exits.get("sector")
    evaluation = evaluate_order(
        ticker=job.ticker, side=job.side, quantity=quantity, price=price,
        sector=sector, portfolio=risk.portfolio, limits=risk.limits,
        breaker=risk.breaker, is_exit=job.source is DecisionTrigger.EXIT)
    now = datetime.now(UTC)
    gated = Gated(status=OrderStatus.SUBMITTING, evaluation={
        "scope": EvaluationScope.ORDER.value, "approved": evaluation.approved,
        "checks": evaluation.checks, "reasons": evaluation.reasons, "evaluated_at": now})
    if not evaluation.approved:
        gated.status = OrderStatus.REJECTED
        gated.reject_reason = "risk: " + "; ".join(evaluation.reasons)
        gated.events.append(("risk_rejected", "rejected", OrderStatus.REJECTED,
                             {"reasons": evaluation.reasons}))
    elif evaluation.needs_approval and ref.approved_by is None:
        gated.status = OrderStatus.PENDING_APPROVAL
        gated.events.append(("pending_approval", "pending_approval",
                             OrderStatus.PENDING_APPROVAL, {}))
    else:
        gated.submitted_at = now
        risk.commit(job.ticker, job.side, quantity, price, sector)
    return gated

