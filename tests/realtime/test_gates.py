"""Each trading gate passes and blocks on its own; fractional Kelly's edge cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from realtime.risk import BreakerState, PortfolioState, RiskLimits
from realtime.risk.orders import evaluate_order
from realtime.risk.portfolio import HeldPosition
from realtime.trading import gates
from realtime.trading.calendar import holidays, is_trading_day, session_minutes
from realtime.trading.sizing import kelly_fraction, size_position
from stonks.config import load_settings
from stonks.models.enums import OrderSide

OPEN_MOMENT = datetime(2010, 7, 27, 15, 0, tzinfo=UTC)  # 11:00 New York on a Tuesday
LIMITS = RiskLimits.from_settings(load_settings())


def portfolio(**changes: object) -> PortfolioState:
    base = PortfolioState(account_id=1, account_name="t", cash=Decimal(100_000),
                          equity=Decimal(100_000), reconciled=True)
    return replace(base, **changes)  # type: ignore[arg-type]


def context(**changes: object) -> gates.GateContext:
    base = gates.GateContext(
        ticker="AAPL", side=OrderSide.BUY, confidence=0.7, notional=Decimal(5_000),
        sector="Information Technology", moment=OPEN_MOMENT, portfolio=portfolio(),
        limits=LIMITS, breaker=BreakerState(False))
    return replace(base, **changes)  # type: ignore[arg-type]


def held(*tickers: str, value: int = 10_000, sector: str = "Energy") -> dict[str, HeldPosition]:
    return {t: HeldPosition(t, Decimal(10), Decimal(value), sector) for t in tickers}


def test_a_clean_trade_passes_every_gate() -> None:
    results, blocked = gates.run_gates(context())
    assert blocked is None and all(r["passed"] for r in results.values())


@pytest.mark.parametrize(("gate", "blocking"), [
    (gates.circuit_breaker, {"breaker": BreakerState(True, "daily_loss", "lost 3%")}),
    (gates.reconciliation, {"portfolio": portfolio(reconciled=False)}),
    (gates.trading_window, {"moment": datetime(2010, 7, 27, 13, 35, tzinfo=UTC)}),  # 09:35
    (gates.trading_window, {"moment": datetime(2010, 7, 27, 19, 50, tzinfo=UTC)}),  # 15:50
    (gates.trading_window, {"moment": datetime(2010, 7, 5, 15, 0, tzinfo=UTC)}),  # July 4th obs.
    (gates.trading_window, {"moment": datetime(2010, 7, 31, 15, 0, tzinfo=UTC)}),  # Saturday
    (gates.confidence, {"confidence": 0.2}),
    (gates.max_positions, {"portfolio": portfolio(positions=held(
        *[f"T{i}" for i in range(LIMITS.max_positions)], value=100))}),
    (gates.sector_exposure, {"portfolio": portfolio(positions=held(
        "MSFT", "ORCL", value=12_000, sector="Information Technology"))}),
    (gates.earnings_blackout, {"next_earnings": date(2010, 7, 28)}),
])
def test_each_gate_blocks_on_its_own_condition(
    gate: object, blocking: dict[str, object]
) -> None:
    assert callable(gate)
    assert gate(context()).passed
    result = gate(context(**blocking))
    assert not result.passed
    assert gates.run_gates(context(**blocking))[1] == result.name


def test_correlation_gate_blocks_a_near_copy_of_a_held_position() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(0, 0.01, 60)
    independent = {"XOM": rng.normal(0, 0.01, 60)}
    twin = {"MSFT": base + rng.normal(0, 0.001, 60)}
    assert gates.correlation(context(returns=base, held_returns=independent,
                                     portfolio=portfolio(positions=held("XOM")))).passed
    blocked = gates.correlation(context(returns=base, held_returns=twin,
                                        portfolio=portfolio(positions=held("MSFT"))))
    assert not blocked.passed and blocked.value is not None and blocked.value > 0.9


def test_correlation_from_shared_held_returns_equals_the_plain_mapping() -> None:
    # The engine hands every decision of a batch one ``HeldReturns``, centred once; the
    # recorded result must be the one a plain mapping gives, the trade's own ticker excluded.
    rng = np.random.default_rng(11)
    base = rng.normal(0, 0.01, 60)
    returns = {f"T{i}": base * (i % 3) + rng.normal(0, 0.01, 60) for i in range(9)}
    returns["SHORT"] = rng.normal(0, 0.01, 30)  # another length: never compared
    returns["FLAT"] = np.zeros(60)  # no variance: no correlation
    shared = gates.HeldReturns(returns)
    positions = held(*returns)
    for ticker in ("T4", "T0", "NEW"):
        own = returns.get(ticker, base)
        plain = gates.correlation(context(ticker=ticker, returns=own, held_returns=returns,
                                          portfolio=portfolio(positions=positions)))
        again = gates.correlation(context(ticker=ticker, returns=own, held_returns=shared,
                                          portfolio=portfolio(positions=positions)))
        assert again == plain and plain.note is not None and ticker not in plain.note


def test_shared_held_returns_correlate_a_ticker_afresh_when_its_returns_change() -> None:
    # The highest correlation is kept per ticker while the bar store hands out the same
    # returns; a new bar (new returns) must not get the old answer.
    rng = np.random.default_rng(5)
    base = rng.normal(0, 0.01, 60)
    held_returns = {"MSFT": base, "XOM": rng.normal(0, 0.01, 60)}
    shared = gates.HeldReturns(held_returns)
    positions = portfolio(positions=held(*held_returns))
    twin = base + rng.normal(0, 0.001, 60)
    first = gates.correlation(context(returns=twin, held_returns=shared, portfolio=positions))
    again = gates.correlation(context(returns=twin, held_returns=shared, portfolio=positions))
    assert not first.passed and again == first
    independent = rng.normal(0, 0.01, 60)
    changed = gates.correlation(context(returns=independent, held_returns=shared,
                                        portfolio=positions))
    assert changed.passed and changed == gates.correlation(context(
        returns=independent, held_returns=held_returns, portfolio=positions))


def test_sector_value_sums_the_positions_of_that_sector() -> None:
    state = portfolio(positions={**held("XOM", "CVX", value=1_000),
                                 **held("MSFT", value=2_500, sector="Information Technology")})
    assert state.sector_value("Energy") == Decimal(2_000)
    assert state.sector_value("Information Technology") == Decimal(2_500)
    assert state.sector_value("Utilities") == state.sector_value(None) == Decimal(0)


def test_exits_pass_the_breaker_and_the_entry_window() -> None:
    ctx = context(side=OrderSide.SELL, is_exit=True, breaker=BreakerState(True, "drawdown"),
                  moment=datetime(2010, 7, 27, 13, 35, tzinfo=UTC))
    assert gates.run_gates(ctx)[1] is None


def test_nyse_calendar_knows_good_friday_and_observed_holidays() -> None:
    assert date(2010, 4, 2) in holidays(2010)  # Good Friday
    assert date(2010, 12, 24) in holidays(2010)  # Christmas on a Saturday
    assert not is_trading_day(date(2011, 1, 17))  # MLK day
    assert session_minutes(datetime(2010, 7, 27, 20, 0, tzinfo=UTC)) is None  # 16:00 close


@pytest.mark.parametrize(("p", "b", "expected"), [
    (0.5, 1.0, 0.0),  # a coin flip at even money has no edge
    (0.4, 1.0, 0.0),  # negative edge is never a short
    (0.6, 2.0, 0.4),
    (None, 2.0, 0.0),
    (0.7, None, 0.0),
    (0.7, 0.0, 0.0),
    (1.2, 2.0, 0.0),
])
def test_kelly_fraction_edge_cases(p: float | None, b: float | None, expected: float) -> None:
    assert kelly_fraction(p, b) == pytest.approx(expected)


def test_no_edge_means_no_trade_and_size_is_capped_by_the_tier() -> None:
    common = {"equity": Decimal(100_000), "price": Decimal(250), "kelly_multiplier": 0.25,
              "min_notional": Decimal(1)}
    none = size_position(probability=0.5, payoff_ratio=1.0, max_position_fraction=0.05,
                         **common)  # type: ignore[arg-type]
    assert none.quantity is None and "no edge" in none.reason
    capped = size_position(probability=0.9, payoff_ratio=3.0, max_position_fraction=0.05,
                           **common)  # type: ignore[arg-type]
    assert capped.notional == Decimal("5000.00") and capped.quantity == Decimal("20")
    micro = size_position(probability=0.51, payoff_ratio=1.0, max_position_fraction=0.05,
                          **{**common, "price": Decimal(247)})  # type: ignore[arg-type]
    assert micro.quantity is not None and micro.quantity < 10  # fractional shares
    assert micro.quantity != micro.quantity.to_integral_value()


def test_evaluate_order_rejects_oversize_and_selling_what_is_not_held() -> None:
    args = {"ticker": "AAPL", "price": Decimal(250), "sector": "Information Technology",
            "portfolio": portfolio(), "limits": LIMITS, "breaker": BreakerState(False)}
    assert evaluate_order(side=OrderSide.BUY, quantity=Decimal(10), **args).approved  # type: ignore[arg-type]
    big = evaluate_order(side=OrderSide.BUY, quantity=Decimal(100), **args)  # type: ignore[arg-type]
    assert not big.approved and "position_limit" in big.reasons[0]
    sell = evaluate_order(side=OrderSide.SELL, quantity=Decimal(1), **args)  # type: ignore[arg-type]
    assert not sell.approved and sell.checks["held_quantity"]["passed"] is False
