"""The shared, read-only evidence both pipelines judge: signals, confluence, filters, exits.

Every array has the ticker on its LAST axis, so ``take`` can cut out any subset of tickers;
the engine uses that to re-run a failed pipeline ticker by ticker (failure isolation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from realtime.signal_engine.contracts import FloatArray

VERDICT_SKIP, VERDICT_WATCH, VERDICT_BUY = 0, 1, 2
FAILED = -1  # verdict code of a pipeline that raised for the ticker


@dataclass(frozen=True, slots=True, eq=False)
class Evidence:
    """Inputs of both pipelines for a batch of tickers (ticker axis last everywhere)."""

    values: FloatArray  # (T, S, n) signed signal values
    known: np.ndarray  # (T, S, n)
    timeframe_scores: FloatArray  # (T, n)
    anchor_score: FloatArray
    total: FloatArray
    coverage: FloatArray
    alignment: FloatArray
    gated: FloatArray  # (T, n)
    filter_failed: np.ndarray  # (F, n)
    filter_unknown: np.ndarray  # (F, n)
    entry: FloatArray
    stop: FloatArray
    targets: FloatArray  # (k, n)
    trailing_stop: FloatArray
    atr: FloatArray
    structure_stop: np.ndarray
    fib_targets: np.ndarray
    regime_inputs: FloatArray  # (7, n): see pipelines.bayesian.detect_regime

    @property
    def n_tickers(self) -> int:
        return int(self.entry.shape[-1])

    @property
    def exits_known(self) -> np.ndarray:
        return np.asarray(np.isfinite(self.stop) & np.isfinite(self.targets[0]))

    @property
    def reward_r(self) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((self.targets[0] - self.entry) / (self.entry - self.stop))

    def take(self, indices: np.ndarray) -> Evidence:
        """The evidence of the tickers at ``indices`` only."""
        return Evidence(
            **{
                f.name: np.asarray(getattr(self, f.name))[..., indices]
                for f in dataclasses.fields(self)
            }
        )
