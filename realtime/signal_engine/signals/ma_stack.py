"""MA stack: how well the 10/20/50/100/200 moving averages are ordered, and price above them."""

from __future__ import annotations

import numpy as np

from realtime.signal_engine.features import TimeframeFeatures
from realtime.signal_engine.signals.reading import SignalReading


def ma_stack_signal(features: TimeframeFeatures) -> SignalReading:
    """+1 for a perfect bull stack (price > MA10 > MA20 > ... > MA200), -1 for a bear stack.

    Each adjacent pair of known averages (price first) votes +1 or -1; the value is the mean
    vote, so a stack only partly ordered is a weaker signal. Fewer than two known averages is
    UNKNOWN: one average says nothing about ordering.
    """
    levels = np.column_stack([features.close, features.moving_averages])
    upper, lower = levels[:, :-1], levels[:, 1:]
    pair_known = np.isfinite(upper) & np.isfinite(lower)
    votes = np.where(pair_known, np.sign(upper - lower), 0.0)
    n_pairs = pair_known.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = votes.sum(axis=1) / n_pairs
    known = features.available & (n_pairs >= 2)
    return SignalReading.of(
        value, known, pairs_ordered=votes.sum(axis=1), pairs_known=n_pairs.astype(np.float64)
    )
