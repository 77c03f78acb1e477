"""``evaluate_order``: the risk engine's last word on one order, run inline before submission."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from realtime.risk.circuit_breaker import BreakerState
from realtime.risk.limits import RiskLimits
from realtime.risk.portfolio import PortfolioState
from stonks.models.enums import OrderSide

TOLERANCE = Decimal("0.0001")  # rounding of fractional quantities


@dataclass(frozen=True)
class OrderEvaluation:
    approved: bool
    checks: dict[str, dict[str, Any]]
    reasons: list[str]
    needs_approval: bool


def evaluate_order(
    *, ticker: str, side: OrderSide, quantity: Decimal, price: Decimal, sector: str | None,
    portfolio: PortfolioState, limits: RiskLimits, breaker: BreakerState, is_exit: bool = False,
) -> OrderEvaluation:
    """Position limit, sector exposure, daily loss cap, buying power / held quantity."""
    notional = quantity * price
    equity = portfolio.equity if portfolio.equity > 0 else Decimal(1)
    held = portfolio.positions.get(ticker)
    checks: dict[str, dict[str, Any]] = {}
    if side is OrderSide.BUY:
        after = ((held.market_value if held else Decimal(0)) + notional) / equity
        limit = Decimal(str(limits.max_position_fraction))
        checks["position_limit"] = {"passed": after <= limit + TOLERANCE,
                                    "value": str(after.quantize(Decimal("0.000001"))),
                                    "limit": str(limit)}
        sector_after = (portfolio.sector_value(sector) + notional) / equity
        sector_limit = Decimal(str(limits.max_sector_fraction))
        checks["sector_exposure"] = {"passed": sector is None
                                     or sector_after <= sector_limit + TOLERANCE,
                                     "value": str(sector_after.quantize(Decimal("0.000001"))),
                                     "limit": str(sector_limit)}
        checks["buying_power"] = {"passed": notional <= portfolio.cash,
                                  "value": str(notional.quantize(Decimal("0.01"))),
                                  "limit": str(portfolio.cash)}
    else:
        have = held.quantity if held else Decimal(0)
        checks["held_quantity"] = {"passed": quantity <= have, "value": str(quantity),
                                   "limit": str(have)}
    day_loss = -portfolio.day_pl / equity
    loss_limit = Decimal(str(limits.daily_loss_limit_fraction))
    checks["daily_loss"] = {"passed": is_exit or (day_loss < loss_limit and not breaker.tripped),
                            "value": str(day_loss.quantize(Decimal("0.000001"))),
                            "limit": str(loss_limit)}
    reasons = [f"{name} failed ({c['value']} vs {c['limit']})"
               for name, c in checks.items() if not c["passed"]]
    threshold = limits.approval_threshold_notional
    return OrderEvaluation(
        approved=not reasons, checks=checks, reasons=reasons,
        needs_approval=threshold is not None and notional > threshold and not is_exit,
    )
