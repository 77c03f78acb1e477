"""Interpolating a macro event's impact on each company through its exposure profile.

The event's shocks reach a company along four channels, each a product of the shock and the
company's sensitivity: the market channel (every stock moves a little with risk appetite),
the sector channel (first-hit sectors move more), the rate channel and the commodity
channel. The sum is scaled by the company's exposure to the event's region and clipped to
[-1, 1]; the signed impact is that exposure times the event's severity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stonks.models.enums import Direction

MARKET_BETA = 0.3
SECTOR_WEIGHT = 0.6
NEUTRAL_BAND = 0.02
DIRECTION_SIGN = {Direction.BULLISH: 1.0, Direction.BEARISH: -1.0, Direction.NEUTRAL: 0.0}


@dataclass(frozen=True)
class EventShock:
    """The parts of a global event that interpolation uses."""

    direction: Direction
    severity: float
    confidence: float
    region: str
    affected_sectors: tuple[str, ...] = ()
    rate_shock: float = 0.0
    commodity_shocks: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Exposure:
    """One company's exposure profile, as interpolation reads it."""

    sector: str | None
    region_exposures: dict[str, float]
    sector_sensitivities: dict[str, float]
    commodity_sensitivities: dict[str, float]
    rate_sensitivity: float


@dataclass(frozen=True)
class MacroImpact:
    direction: Direction
    magnitude: float
    confidence: float
    exposure_score: float
    components: dict[str, Any]


def region_weight(exposure: Exposure, region: str) -> float:
    """1 for a global event; otherwise how much of the company's business is there."""
    if region in ("global", ""):
        return 1.0
    share = exposure.region_exposures.get(region, 0.0)
    # A regional event still moves every stock a little through global risk appetite.
    return max(0.15, min(1.0, share / max(exposure.region_exposures.values(), default=1.0)))


def interpolate(event: EventShock, exposure: Exposure) -> MacroImpact:
    """The event's impact on one company (direction, magnitude, confidence, components)."""
    sign = DIRECTION_SIGN[event.direction]
    market = sign * MARKET_BETA
    sector = 0.0
    for name in event.affected_sectors:
        sector += sign * SECTOR_WEIGHT * exposure.sector_sensitivities.get(name, 0.0)
    rate = event.rate_shock * exposure.rate_sensitivity
    commodity = sum(shock * exposure.commodity_sensitivities.get(name, 0.0)
                    for name, shock in event.commodity_shocks)
    weight = region_weight(exposure, event.region)
    raw = (market + sector + rate + commodity) * weight
    score = max(-1.0, min(1.0, raw))
    signed = score * event.severity
    if signed > NEUTRAL_BAND:
        direction = Direction.BULLISH
    elif signed < -NEUTRAL_BAND:
        direction = Direction.BEARISH
    else:
        direction = Direction.NEUTRAL
    components = {"market": round(market, 6), "sector": round(sector, 6),
                  "rate": round(rate, 6), "commodity": round(commodity, 6),
                  "region_weight": round(weight, 6)}
    # Indirect channels are less certain than the event itself.
    confidence = event.confidence * (0.5 + 0.5 * min(1.0, abs(score)))
    return MacroImpact(direction, round(min(1.0, abs(signed)), 6), round(confidence, 6),
                       round(score, 6), components)
