"""The trading engine: gates, fractional Kelly sizing, decisions, exits."""

from realtime.trading.engine import ProposedTrade, TradingEngine, client_order_id
from realtime.trading.gates import GATES, GateContext, GateResult, run_gates
from realtime.trading.sizing import Size, kelly_fraction, size_position

__all__ = [
    "GATES",
    "GateContext",
    "GateResult",
    "ProposedTrade",
    "Size",
    "TradingEngine",
    "client_order_id",
    "kelly_fraction",
    "run_gates",
    "size_position",
]
