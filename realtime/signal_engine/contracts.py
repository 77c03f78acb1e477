"""The signal engine's data contracts: its inputs, the UNKNOWN sentinel, and SignalOutput.

Everything here is an immutable value. Inputs a source could not provide are the ``UNKNOWN``
sentinel, which refuses to act as a boolean or a number, so no downstream step can quietly
read a missing input as zero or as a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from stonks.models.signal_engine import MarketRegime, Verdict

__all__ = [
    "ANCHOR_TIMEFRAMES",
    "LOWER_TIMEFRAMES",
    "TIMEFRAMES",
    "UNKNOWN",
    "Agreement",
    "Bars",
    "ExitPlan",
    "FloatArray",
    "HeuristicResult",
    "MarketRegime",
    "ProbabilisticResult",
    "SignalName",
    "SignalOutput",
    "TickerInputs",
    "Timeframe",
    "Unknown",
    "Valuation",
    "Verdict",
    "is_known",
]

FloatArray = npt.NDArray[np.float64]
T = TypeVar("T")


class Unknown:
    """The value of an input no source provided. Not zero, not false, not a pass."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # Truthiness is exactly the mistake the sentinel exists to prevent.
        raise TypeError("UNKNOWN has no truth value; test it with is_known()")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


def is_known(value: object) -> bool:
    """True unless ``value`` is the UNKNOWN sentinel."""
    return value is not UNKNOWN


class Timeframe(StrEnum):
    """The six bar sizes the engine reads, shortest first."""

    M30 = "M30"
    H1 = "H1"
    H4 = "H4"
    D = "D"
    W = "W"
    M = "M"


TIMEFRAMES: Final = tuple(Timeframe)
#: The higher timeframes anchor the verdict and gate the lower ones.
ANCHOR_TIMEFRAMES: Final = (Timeframe.D, Timeframe.W, Timeframe.M)
LOWER_TIMEFRAMES: Final = (Timeframe.M30, Timeframe.H1, Timeframe.H4)


class SignalName(StrEnum):
    """The signals of the library, each computed on every timeframe."""

    FIBONACCI = "fibonacci"
    MA_STACK = "ma_stack"
    RSI = "rsi"
    CUP_HANDLE = "cup_handle"
    ELLIOTT = "elliott"


SIGNALS: Final = tuple(SignalName)


@dataclass(frozen=True, slots=True, eq=False)
class Bars:
    """OHLCV bars of one ticker on one timeframe, oldest first.

    ``timestamps`` are UTC epoch seconds at which each bar's values are final (its close
    time); the engine never reads a bar stamped after the time it evaluates.
    """

    timestamps: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Bars.{name} has {len(getattr(self, name))} values, not {n}")
        if n > 1 and bool(np.any(np.diff(self.timestamps) <= 0)):
            raise ValueError("Bars.timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.timestamps)

    def count_until(self, as_of_epoch: int) -> int:
        """How many bars were final at ``as_of_epoch`` (the look-ahead cut)."""
        return int(np.searchsorted(self.timestamps, as_of_epoch, side="right"))

    @staticmethod
    def from_arrays(
        timestamps: npt.ArrayLike,
        open_: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
    ) -> Bars:
        """Bars from anything array-like, converted to contiguous int64 / float64."""

        def f64(values: npt.ArrayLike) -> FloatArray:
            return np.ascontiguousarray(values, dtype=np.float64)

        return Bars(
            np.ascontiguousarray(timestamps, dtype=np.int64),
            f64(open_),
            f64(high),
            f64(low),
            f64(close),
            f64(volume),
        )


@dataclass(frozen=True, slots=True)
class Valuation:
    """What the valuation filter needs: the ticker's P/E against its sector's median."""

    pe_ratio: float
    sector_median_pe: float | Unknown = UNKNOWN


@dataclass(frozen=True, slots=True, eq=False)
class TickerInputs:
    """Everything the engine reads for one ticker, as the normalizer assembled it."""

    ticker: str
    bars: Mapping[Timeframe, Bars | Unknown]
    valuation: Valuation | Unknown = UNKNOWN
    #: Macro bias for the ticker's sector in [-1, 1] (negative = headwind).
    macro_bias: float | Unknown = UNKNOWN
    next_earnings: date | Unknown = UNKNOWN
    sector: str | Unknown = UNKNOWN

    def bars_for(self, timeframe: Timeframe) -> Bars | Unknown:
        return self.bars.get(timeframe, UNKNOWN)


class Agreement(StrEnum):
    """How the two pipelines' verdicts relate for one ticker."""

    AGREE = "agree"  # same verdict
    PARTIAL = "partial"  # one step apart (BUY/WATCH or WATCH/SKIP)
    CONFLICT = "conflict"  # BUY against SKIP
    INCOMPLETE = "incomplete"  # a pipeline failed, nothing to compare


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """Where a long entry would be stopped out and where it would take profit."""

    entry: float
    stop_loss: float
    stop_kind: str  # "structure" (below the last swing low) or "atr"
    targets: tuple[float, ...]
    target_kind: str  # "fib_extension" or "r_multiple"
    trailing_atr_multiple: float
    trailing_stop: float
    atr: float

    @property
    def risk_per_share(self) -> float:
        return self.entry - self.stop_loss

    @property
    def reward_r(self) -> float:
        """The first target's distance in R multiples (the payoff ratio for Kelly)."""
        return (self.targets[0] - self.entry) / self.risk_per_share


@dataclass(frozen=True, slots=True)
class HeuristicResult:
    """The deterministic pipeline's verdict: total score in [-1, 1] and confidence in [0, 1]."""

    verdict: Verdict
    score: float
    confidence: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProbabilisticResult:
    """The Bayesian pipeline's verdict: P(target before stop), entropy and EV in R."""

    verdict: Verdict
    probability: float
    log_odds: float
    entropy: float
    ev_r: float | None
    payoff_ratio: float | None
    regime: MarketRegime
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignalOutput:
    """Both pipelines' verdicts for one ticker at one tick: the engine's contract.

    A pipeline that raised has ``None`` as its result and its error recorded; the other
    pipeline's result stands. ``consensus`` is the conservative combination the
    recommendation layer acts on (BUY only when both say BUY and no filter failed).
    """

    ticker: str
    evaluated_at: datetime
    tick_id: str
    heuristic: HeuristicResult | None
    probabilistic: ProbabilisticResult | None
    agreement: Agreement
    consensus: Verdict
    exits: ExitPlan | None
    failed_filters: tuple[str, ...] = ()
    unknown_inputs: tuple[str, ...] = ()
    heuristic_error: str | None = None
    probabilistic_error: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def probability(self) -> float | None:
        return None if self.probabilistic is None else self.probabilistic.probability

    @property
    def ev_r(self) -> float | None:
        return None if self.probabilistic is None else self.probabilistic.ev_r

    @property
    def payoff_ratio(self) -> float | None:
        return None if self.exits is None else self.exits.reward_r
