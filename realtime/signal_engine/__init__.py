"""Dual-pipeline signal engine: heuristic and Bayesian verdicts over six timeframes.

Aggregation calls ``SignalEngine.evaluate`` for one ticker or ``evaluate_batch`` for a tick
over many; results are ``SignalOutput`` values, persisted with ``persist_outputs`` and
mapped onto recommendations with ``to_recommendation``.
"""

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import (
    UNKNOWN,
    Agreement,
    Bars,
    ExitPlan,
    HeuristicResult,
    ProbabilisticResult,
    SignalOutput,
    TickerInputs,
    Timeframe,
    Unknown,
    Valuation,
    Verdict,
    is_known,
)
from realtime.signal_engine.delta import AgreementRecorder, AgreementStats
from realtime.signal_engine.engine import SignalEngine
from realtime.signal_engine.normalizer import (
    MarketBatch,
    assemble,
    inputs_from_daily,
    inputs_from_intraday,
    resample_intraday,
)
from realtime.signal_engine.persistence import persist_outputs, to_recommendation

__all__ = [
    "UNKNOWN",
    "Agreement",
    "AgreementRecorder",
    "AgreementStats",
    "Bars",
    "EngineConfig",
    "ExitPlan",
    "HeuristicResult",
    "MarketBatch",
    "ProbabilisticResult",
    "SignalEngine",
    "SignalOutput",
    "TickerInputs",
    "Timeframe",
    "Unknown",
    "Valuation",
    "Verdict",
    "assemble",
    "inputs_from_daily",
    "inputs_from_intraday",
    "is_known",
    "persist_outputs",
    "resample_intraday",
    "to_recommendation",
]
