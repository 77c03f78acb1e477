"""The risk view of a batch: every order it approves moves the account the next order is
gated on, sector totals included."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from realtime.broker.gate import RiskView
from realtime.risk.circuit_breaker import BreakerState
from realtime.risk.limits import RiskLimits
from realtime.risk.portfolio import HeldPosition, PortfolioState
from stonks.models.enums import OrderSide
from tests.realtime.conftest import make_settings


def _fresh(state: PortfolioState) -> PortfolioState:
    """The same account, its sector totals not summed yet."""
    return replace(state, positions=dict(state.positions))


def test_sector_totals_moved_order_by_order_match_the_totals_summed_afresh() -> None:
    positions = {
        "AAPL": HeldPosition("AAPL", Decimal("3.5"), Decimal("875.123456"), "Tech"),
        "MSFT": HeldPosition("MSFT", Decimal(2), Decimal("800.10"), "Tech"),
        "XOM": HeldPosition("XOM", Decimal(10), Decimal("1100"), "Energy"),
        "ZZZ": HeldPosition("ZZZ", Decimal(1), Decimal(5), None),
    }
    state = PortfolioState(1, "paper", Decimal(100_000), Decimal(103_000), True, positions)
    settings = make_settings("sqlite://", "redis://localhost")
    risk = RiskView(state, RiskLimits.from_settings(settings), BreakerState(False))
    sectors = ("Tech", "Energy", "Health", None)
    assert [risk.portfolio.sector_value(s) for s in sectors] == [
        Decimal("1675.223456"), Decimal(1100), Decimal(0), Decimal(0)]
    moves = [("AAPL", OrderSide.BUY, "1.25", "251.3333", "Tech"),
             ("XOM", OrderSide.SELL, "4", "109.99", "Energy"),
             ("PFE", OrderSide.BUY, "7", "28.125", "Health"),  # a ticker not held
             ("ZZZ", OrderSide.BUY, "1", "5.5", "Tech"),  # held without a sector
             ("PFE", OrderSide.SELL, "7", "29", "Health")]
    for ticker, side, quantity, price, sector in moves:
        risk.commit(ticker, side, Decimal(quantity), Decimal(price), sector)
        moved, afresh = risk.portfolio, _fresh(risk.portfolio)
        assert [moved.sector_value(s) for s in sectors] == [
            afresh.sector_value(s) for s in sectors]
        assert moved == afresh
    assert risk.portfolio.positions["PFE"].quantity == 0
    assert risk.portfolio.cash == (Decimal(100_000) - Decimal("1.25") * Decimal("251.3333")
                                   + 4 * Decimal("109.99") - 7 * Decimal("28.125")
                                   - Decimal("5.5") + 7 * Decimal(29))
    # moved by each order's notional: bought for 196.875, sold for 203
    assert risk.portfolio.sector_value("Health") == Decimal("-6.125")
