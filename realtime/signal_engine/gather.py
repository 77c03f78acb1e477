"""Builds the shared Evidence of a tick: features per timeframe, signals, confluence, filters,
exits. Shared by both pipelines, so it is computed once per tick for every ticker."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.confluence import confluence
from realtime.signal_engine.contracts import SIGNALS, TIMEFRAMES, Timeframe
from realtime.signal_engine.evidence import Evidence
from realtime.signal_engine.exits import plan_exits
from realtime.signal_engine.features import (
    KernelWorkspace,
    Panel,
    TimeframeFeatures,
    compute_features,
)
from realtime.signal_engine.filters import apply_filters
from realtime.signal_engine.normalizer import MarketBatch
from realtime.signal_engine.signals import SIGNAL_FUNCTIONS, SignalReading

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class GatheredEvidence:
    """The Evidence plus what the per-ticker evidence dicts are built from."""

    evidence: Evidence
    readings: dict[tuple[Timeframe, int], SignalReading]
    features: dict[Timeframe, TimeframeFeatures]
    errors: list[list[str]] = field(default_factory=list)  # per ticker: what failed and why


def gather(
    batch: MarketBatch, config: EngineConfig, workspace: KernelWorkspace
) -> GatheredEvidence:
    """Compute everything both pipelines read, isolating failures to the tickers they hit.

    Timeframes are computed one after another: spreading them over two threads was measured
    slower on the two-core machine (the per-series kernel calls are dominated by work under
    the GIL, and the other core is rarely idle).
    """
    n = len(batch.tickers)
    errors: list[list[str]] = [[] for _ in range(n)]
    features = {tf: _features(batch.panels[tf], workspace, errors) for tf in TIMEFRAMES}
    values = np.zeros((len(TIMEFRAMES), len(SIGNALS), n))
    known = np.zeros((len(TIMEFRAMES), len(SIGNALS), n), dtype=bool)
    readings: dict[tuple[Timeframe, int], SignalReading] = {}
    for t, tf in enumerate(TIMEFRAMES):
        for s, (name, signal) in enumerate(SIGNAL_FUNCTIONS.items()):
            try:
                # Features reused from the previous tick (no ticker's bars changed) give
                # the same readings; anything else is read afresh.
                reading = workspace.reading(features[tf], s)
                if reading is None:
                    reading = signal(features[tf])
                    workspace.keep_reading(features[tf], s, reading)
            except Exception as exc:  # a broken signal is unknown, never a crash of the tick
                logger.exception("signal %s failed on %s", name, tf)
                for ticker_errors in errors:
                    ticker_errors.append(f"signal {name}@{tf}: {type(exc).__name__}: {exc}")
                continue
            readings[(tf, s)] = reading
            values[t, s] = reading.value
            known[t, s] = reading.known
    conf = confluence(values, known, config)
    filters = apply_filters(batch.filters, config)
    daily, weekly = features[Timeframe.D], features[Timeframe.W]
    exits = plan_exits(daily, config)

    def when(f: TimeframeFeatures, column: np.ndarray) -> np.ndarray:
        return np.where(f.available, column, np.nan)

    regime_inputs = np.vstack([
        when(daily, daily.close), when(daily, daily.moving_averages[:, 2]),
        when(daily, daily.trend_slope), when(weekly, weekly.close),
        when(weekly, weekly.moving_averages[:, 1]), when(weekly, weekly.trend_slope),
        when(daily, daily.natr_ratio),
    ])
    evidence = Evidence(
        values=values, known=known, timeframe_scores=conf.timeframe_scores,
        anchor_score=conf.anchor_score, total=conf.total, coverage=conf.coverage,
        alignment=conf.alignment, gated=conf.gated, filter_failed=filters.failed,
        filter_unknown=filters.unknown, entry=exits.entry, stop=exits.stop,
        targets=np.ascontiguousarray(exits.targets.T), trailing_stop=exits.trailing_stop,
        atr=exits.atr, structure_stop=exits.structure_stop, fib_targets=exits.fib_targets,
        regime_inputs=regime_inputs,
    )
    return GatheredEvidence(evidence, readings, features, errors)


def _features(
    panel: Panel, workspace: KernelWorkspace, errors: list[list[str]]
) -> TimeframeFeatures:
    """Features of a panel; if the batch raises, find the tickers that break it, drop their
    bars for this timeframe (UNKNOWN), record why, and compute the rest."""
    try:
        return compute_features(panel, workspace)
    except Exception:
        logger.exception("features of %s failed for the batch; isolating tickers", panel.timeframe)
    high, low, close = panel.high.copy(), panel.low.copy(), panel.close.copy()
    lengths = panel.lengths.copy()
    for i in range(panel.n_tickers):
        single = Panel(
            panel.timeframe, np.ascontiguousarray(high[:, i : i + 1]),
            np.ascontiguousarray(low[:, i : i + 1]), np.ascontiguousarray(close[:, i : i + 1]),
            lengths[i : i + 1],
        )
        try:
            compute_features(single, KernelWorkspace())
        except Exception as exc:
            errors[i].append(f"features@{panel.timeframe}: {type(exc).__name__}: {exc}")
            high[:, i] = low[:, i] = close[:, i] = np.nan
            lengths[i] = 0
    return compute_features(Panel(panel.timeframe, high, low, close, lengths), workspace)
