"""The value every signal returns: signed strength per ticker, known mask and evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from realtime.signal_engine.contracts import FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class SignalReading:
    """One signal on one timeframe for every ticker.

    ``value`` is direction times strength in [-1, 1]; it is 0 where ``known`` is False, and
    an unknown reading carries no weight downstream (it is not a neutral vote).
    """

    value: FloatArray
    known: npt.NDArray[np.bool_]
    evidence: dict[str, FloatArray] = field(default_factory=dict)

    @staticmethod
    def of(
        value: FloatArray, known: npt.NDArray[np.bool_], **evidence: FloatArray
    ) -> SignalReading:
        """A reading with NaN and unknown entries zeroed and the value clipped to [-1, 1]."""
        known = known & np.isfinite(value)
        clean = np.where(known, np.clip(np.nan_to_num(value), -1.0, 1.0), 0.0)
        return SignalReading(clean, known, evidence)

    @property
    def direction(self) -> FloatArray:
        return np.sign(self.value)

    @property
    def strength(self) -> FloatArray:
        return np.abs(self.value)
