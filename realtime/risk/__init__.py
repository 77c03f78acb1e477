"""Risk: limits and tiers, the circuit breaker, and the order-level ``evaluate_order``."""

from realtime.risk.circuit_breaker import BreakerState, CircuitBreaker
from realtime.risk.limits import TIERS, RiskLimits, current_tier
from realtime.risk.portfolio import PortfolioState, load_portfolio

__all__ = [
    "TIERS",
    "BreakerState",
    "CircuitBreaker",
    "PortfolioState",
    "RiskLimits",
    "current_tier",
    "load_portfolio",
]
