"""Hard filters: macro bias, valuation, earnings proximity. A failure means SKIP, with reason.

Each filter has three outcomes per ticker: pass, fail, or unknown (its input is missing).
Unknown is never a pass: with ``unknown_filter_blocks_buy`` (the default) it caps the
verdict at WATCH, and it is always reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import FloatArray

FILTER_NAMES = ("macro_bias", "valuation", "earnings_proximity")


@dataclass(frozen=True, slots=True, eq=False)
class FilterInputs:
    """The filters' inputs per ticker; NaN marks an UNKNOWN input."""

    macro_bias: FloatArray
    pe_ratio: FloatArray
    sector_median_pe: FloatArray
    days_to_earnings: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class FilterResults:
    """``failed`` and ``unknown`` are (3, n) in ``FILTER_NAMES`` order."""

    failed: np.ndarray
    unknown: np.ndarray

    @property
    def any_failed(self) -> np.ndarray:
        return np.asarray(self.failed.any(axis=0))

    @property
    def any_unknown(self) -> np.ndarray:
        return np.asarray(self.unknown.any(axis=0))


def apply_filters(inputs: FilterInputs, config: EngineConfig) -> FilterResults:
    """Evaluate the three filters for every ticker."""
    macro = inputs.macro_bias
    macro_unknown = ~np.isfinite(macro)
    with np.errstate(invalid="ignore"):
        macro_failed = ~macro_unknown & (macro < config.macro_min_bias)

    pe, sector_pe = inputs.pe_ratio, inputs.sector_median_pe
    pe_known = np.isfinite(pe)
    # No earnings (P/E <= 0) fails on its own; "too expensive" needs the sector to compare.
    with np.errstate(invalid="ignore"):
        loss_making = pe_known & (pe <= 0)
        relative_known = pe_known & np.isfinite(sector_pe) & (sector_pe > 0)
        too_expensive = relative_known & (pe > config.max_relative_pe * sector_pe)
    valuation_failed = loss_making | too_expensive
    valuation_unknown = ~valuation_failed & ~relative_known

    days = inputs.days_to_earnings
    # A past date means the calendar is stale: the next report is unknown, not far away.
    days_unknown = ~np.isfinite(days) | (days < 0)
    with np.errstate(invalid="ignore"):
        earnings_failed = ~days_unknown & (days <= config.earnings_blackout_days)

    return FilterResults(
        failed=np.vstack([macro_failed, valuation_failed, earnings_failed]),
        unknown=np.vstack([macro_unknown, valuation_unknown, days_unknown]),
    )
