"""Fractional Kelly sizing from a recommendation's probability and payoff ratio."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

QTY = Decimal("0.000001")


@dataclass(frozen=True)
class Size:
    """The sizing of one decision; ``quantity`` is None when there is no trade."""

    kelly: float
    fraction: float
    notional: Decimal
    quantity: Decimal | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"kelly": self.kelly, "fraction": self.fraction, "notional": str(self.notional),
                "quantity": None if self.quantity is None else str(self.quantity),
                "reason": self.reason}


def kelly_fraction(probability: float | None, payoff_ratio: float | None) -> float:
    """Full Kelly f* = p - (1 - p) / b; 0 when there is no edge or the inputs are missing."""
    if probability is None or payoff_ratio is None or payoff_ratio <= 0:
        return 0.0
    if not 0.0 <= probability <= 1.0:
        return 0.0
    return max(0.0, probability - (1.0 - probability) / payoff_ratio)


def size_position(
    *, probability: float | None, payoff_ratio: float | None, equity: Decimal, price: Decimal,
    kelly_multiplier: float, max_position_fraction: float, min_notional: Decimal,
    fractional: bool = True,
) -> Size:
    """Fractional Kelly capped by the tier's position fraction; fractional shares allowed."""
    full = kelly_fraction(probability, payoff_ratio)
    if full <= 0:
        return Size(full, 0.0, Decimal(0), None, "no edge: Kelly fraction is not positive")
    fraction = min(full * kelly_multiplier, max_position_fraction)
    notional = (equity * Decimal(str(fraction))).quantize(Decimal("0.01"), ROUND_DOWN)
    if price <= 0:
        return Size(full, fraction, notional, None, "no reference price")
    quantity = (notional / price).quantize(QTY if fractional else Decimal(1), ROUND_DOWN)
    if notional < min_notional or quantity <= 0:
        return Size(full, fraction, notional, None,
                    f"size {notional} below the minimum order {min_notional}")
    capped = "capped by tier" if fraction == max_position_fraction else "fractional Kelly"
    return Size(full, fraction, notional, quantity, capped)
