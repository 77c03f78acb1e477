"""Chart-pattern detectors: cup and handle, and Elliott impulse wave labelling."""

import numpy.typing as npt

from signal_kernels._results import CupAndHandle, ElliottWave, Pivots

IMPULSE_RULES: dict[int, str]

def find_cup_and_handle(
    close: npt.ArrayLike,
    *,
    min_cup_bars: int = 20,
    max_cup_bars: int = 250,
    min_depth: float = 0.12,
    max_depth: float = 0.5,
    rim_tolerance: float = 0.05,
    min_handle_bars: int = 3,
    max_handle_retrace: float = 0.5,
    max_handle_fraction: float = 0.5,
    min_quality: float = 0.0,
) -> list[CupAndHandle]:
    """Non-overlapping cup-and-handle bases, ordered by their left rim."""

def impulse_rule_violations(prices: npt.ArrayLike) -> tuple[str, ...]:
    """Names of the impulse rules broken by 2 to 6 alternating pivot prices."""

def elliott_wave(pivots: Pivots, *, include_unconfirmed: bool = True) -> ElliottWave | None:
    """Best impulse count ending at the latest pivots, with the wave in progress."""
