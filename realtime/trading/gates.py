"""The trading gates. Each is a pure function of a ``GateContext`` returning a GateResult.

Order matters only for ``blocked_by`` (the first failure); every gate runs so the decision
row records all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from realtime.risk.circuit_breaker import BreakerState
from realtime.risk.limits import RiskLimits
from realtime.risk.portfolio import PortfolioState
from realtime.trading.calendar import session_minutes
from stonks.models.enums import OrderSide


@dataclass(frozen=True, slots=True)
class GateResult:
    name: str
    passed: bool
    value: Any = None
    limit: Any = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result as the decision row records it (decimals as their exact text)."""
        value, limit = self.value, self.limit
        out = {"passed": self.passed,
               "value": str(value) if isinstance(value, Decimal) else value,
               "limit": str(limit) if isinstance(limit, Decimal) else limit}
        if self.note:
            out["note"] = self.note
        return out


class HeldReturns(Mapping[str, np.ndarray]):
    """The held positions' daily returns (ticker → returns), with the correlation gate's
    per-position work (stacking, centring, norms) done once for every trade that shares
    them instead of once per trade, and each ticker's highest correlation with them kept
    while the ticker's returns are the same array (the bar store hands out one array per
    ticker until a new bar is final). The rows are the same arrays the gate would build,
    so its results are identical."""

    def __init__(self, returns: Mapping[str, np.ndarray]) -> None:
        self._returns = dict(returns)
        self._centred: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
        self._highest: dict[str, tuple[np.ndarray, float, str | None]] = {}

    def __getitem__(self, ticker: str) -> np.ndarray:
        return self._returns[ticker]

    def __iter__(self) -> Iterator[str]:
        return iter(self._returns)

    def __len__(self) -> int:
        return len(self._returns)

    def centred(self, length: int, exclude: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The tickers with ``length`` returns other than ``exclude``, their centred returns
        (one row each) and the rows' norms."""
        if length not in self._centred:
            names = [t for t, r in self._returns.items() if len(r) == length]
            self._centred[length] = (names, *_centre(self._returns, names))
        names, h, norms = self._centred[length]
        if exclude in names:
            i = names.index(exclude)
            return (names[:i] + names[i + 1:], np.concatenate((h[:i], h[i + 1:])),
                    np.concatenate((norms[:i], norms[i + 1:])))
        return names, h, norms

    def highest_correlation(self, ticker: str,
                            returns: np.ndarray) -> tuple[float, str | None]:
        """The highest correlation of ``ticker``'s ``returns`` with another held position's
        returns of the same length, and that position's ticker (``highest_correlation``);
        kept for the next call with the same array."""
        kept = self._highest.get(ticker)
        if kept is not None and kept[0] is returns:
            return kept[1], kept[2]
        highest = highest_correlation(returns, *self.centred(len(returns), ticker))
        self._highest[ticker] = (returns, *highest)
        return highest


def _centre(returns: Mapping[str, np.ndarray],
            names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if not names:
        return np.empty((0, 0)), np.empty(0)
    held = np.vstack([returns[t] for t in names])
    h = held - held.mean(axis=1, keepdims=True)
    return h, np.linalg.norm(h, axis=1)


def highest_correlation(returns: np.ndarray, names: list[str], h: np.ndarray,
                        norms: np.ndarray) -> tuple[float, str | None]:
    """The highest correlation of ``returns`` with the centred rows ``h`` (norms ``norms``)
    of the tickers ``names``, and that ticker (-1 and None when none has one)."""
    if not names:
        return -1.0, None
    # One matrix product for every held position instead of a corrcoef per pair.
    a = returns - returns.mean()
    denominator = norms * np.linalg.norm(a)
    correlations = np.divide(h @ a, denominator, out=np.full(len(names), np.nan),
                             where=denominator > 0)
    if not np.isfinite(correlations).any():
        return -1.0, None
    # ``nanargmax`` without its overhead: the first highest, NaN counting as -inf.
    i = int(np.where(np.isnan(correlations), -np.inf, correlations).argmax())
    return float(correlations[i]), names[i]


@dataclass(frozen=True)
class GateContext:
    """What the gates look at for one prospective trade."""

    ticker: str
    side: OrderSide
    confidence: float
    notional: Decimal
    sector: str | None
    moment: datetime
    portfolio: PortfolioState
    limits: RiskLimits
    breaker: BreakerState
    next_earnings: date | None = None
    returns: np.ndarray | None = None
    held_returns: Mapping[str, np.ndarray] = field(default_factory=dict)
    is_exit: bool = False


def circuit_breaker(ctx: GateContext) -> GateResult:
    if ctx.is_exit:  # exits reduce risk: a tripped breaker must not trap a position
        return GateResult("circuit_breaker", True, ctx.breaker.breaker, None, "exit allowed")
    return GateResult("circuit_breaker", not ctx.breaker.tripped, ctx.breaker.breaker, None,
                      ctx.breaker.reason)


def reconciliation(ctx: GateContext) -> GateResult:
    return GateResult("reconciliation", ctx.portfolio.reconciled,
                      "reconciled" if ctx.portfolio.reconciled else "unreconciled", "reconciled")


def trading_window(ctx: GateContext) -> GateResult:
    minutes = session_minutes(ctx.moment)
    if minutes is None:
        return GateResult("trading_window", False, ctx.moment.isoformat(), "NYSE session",
                          "market closed")
    since_open, to_close = minutes
    if ctx.is_exit or ctx.side is OrderSide.SELL:
        return GateResult("trading_window", True, round(since_open, 1), None)
    passed = (since_open >= ctx.limits.no_entry_after_open_minutes
              and to_close >= ctx.limits.no_entry_before_close_minutes)
    return GateResult("trading_window", passed, round(since_open, 1),
                      [ctx.limits.no_entry_after_open_minutes,
                       ctx.limits.no_entry_before_close_minutes],
                      None if passed else "no entries right after the open or before the close")


def confidence(ctx: GateContext) -> GateResult:
    if ctx.is_exit:
        return GateResult("confidence", True, ctx.confidence, None, "exit")
    return GateResult("confidence", ctx.confidence >= ctx.limits.min_confidence,
                      round(ctx.confidence, 4), ctx.limits.min_confidence)


def max_positions(ctx: GateContext) -> GateResult:
    held = len(ctx.portfolio.positions)
    if ctx.side is OrderSide.SELL or ctx.ticker in ctx.portfolio.positions:
        return GateResult("max_positions", True, held, ctx.limits.max_positions)
    return GateResult("max_positions", held < ctx.limits.max_positions, held,
                      ctx.limits.max_positions)


def sector_exposure(ctx: GateContext) -> GateResult:
    if ctx.side is OrderSide.SELL:
        return GateResult("sector_exposure", True, None, ctx.limits.max_sector_fraction)
    equity = ctx.portfolio.equity
    if ctx.sector is None or equity <= 0:
        return GateResult("sector_exposure", True, None, ctx.limits.max_sector_fraction,
                          "sector unknown")
    after = (ctx.portfolio.sector_value(ctx.sector) + ctx.notional) / equity
    return GateResult("sector_exposure", after <= Decimal(str(ctx.limits.max_sector_fraction)),
                      round(float(after), 6), ctx.limits.max_sector_fraction)


def correlation(ctx: GateContext) -> GateResult:
    if ctx.side is OrderSide.SELL or ctx.returns is None or not ctx.held_returns:
        return GateResult("correlation", True, None, ctx.limits.max_correlation,
                          None if ctx.side is OrderSide.SELL else "nothing to correlate with")
    if isinstance(ctx.held_returns, HeldReturns):
        worst, worst_ticker = ctx.held_returns.highest_correlation(ctx.ticker, ctx.returns)
    else:
        names = [t for t, r in ctx.held_returns.items()
                 if t != ctx.ticker and len(r) == len(ctx.returns)]
        worst, worst_ticker = highest_correlation(ctx.returns, names,
                                                  *_centre(ctx.held_returns, names))
    if worst_ticker is None:
        return GateResult("correlation", True, None, ctx.limits.max_correlation)
    return GateResult("correlation", worst <= ctx.limits.max_correlation, round(worst, 4),
                      ctx.limits.max_correlation, f"highest with {worst_ticker}")


def earnings_blackout(ctx: GateContext) -> GateResult:
    if ctx.side is OrderSide.SELL:
        return GateResult("earnings_blackout", True, None, ctx.limits.earnings_blackout_days)
    if ctx.next_earnings is None:
        return GateResult("earnings_blackout", True, None, ctx.limits.earnings_blackout_days,
                          "earnings date unknown")
    days = (ctx.next_earnings - ctx.moment.date()).days
    passed = not 0 <= days <= ctx.limits.earnings_blackout_days
    return GateResult("earnings_blackout", passed, days, ctx.limits.earnings_blackout_days)


GATES: tuple[Callable[[GateContext], GateResult], ...] = (
    circuit_breaker, reconciliation, trading_window, confidence, max_positions,
    sector_exposure, correlation, earnings_blackout,
)


def run_gates(ctx: GateContext) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Every gate's result and the name of the first that failed (None if all passed)."""
    results: dict[str, dict[str, Any]] = {}
    blocked: str | None = None
    for gate in GATES:
        result = gate(ctx)
        results[result.name] = result.as_dict()
        if blocked is None and not result.passed:
            blocked = result.name
    return results, blocked
