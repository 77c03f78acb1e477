"""Turns a tick's columnar results into one SignalOutput per ticker.

Per-ticker Python is kept to building the small result objects; the evidence dict (the
largest part) is built lazily, on first access, from the tick's arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from realtime.signal_engine.contracts import (
    SIGNALS,
    TIMEFRAMES,
    ExitPlan,
    HeuristicResult,
    ProbabilisticResult,
    SignalOutput,
    Verdict,
)
from realtime.signal_engine.delta import AGREEMENT_CODES
from realtime.signal_engine.filters import FILTER_NAMES
from realtime.signal_engine.gather import GatheredEvidence
from realtime.signal_engine.pipelines.bayesian import REGIMES, ProbabilisticColumns
from realtime.signal_engine.pipelines.heuristic import HeuristicColumns

VERDICTS = (Verdict.SKIP, Verdict.WATCH, Verdict.BUY)
HEURISTIC_REASONS = ("filter_failed", "filter_unknown", "low_confidence", "score_below_watch",
                     "no_anchor_timeframe")
PROBABILISTIC_REASONS = ("filter_failed", "filter_unknown", "too_uncertain", "no_exit_plan",
                         "negative_ev", "low_probability")


def _words(mask: int, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for bit, name in enumerate(names) if mask >> bit & 1)


# Every reason mask spelled out once, so a tick looks its words up instead of building them.
_HEURISTIC_WORDS = tuple(_words(m, HEURISTIC_REASONS) for m in range(1 << len(HEURISTIC_REASONS)))
_FILTER_WORDS = tuple(_words(m, FILTER_NAMES) for m in range(1 << len(FILTER_NAMES)))
_PROBABILISTIC_WORDS = tuple(
    _words(m, PROBABILISTIC_REASONS) for m in range(1 << len(PROBABILISTIC_REASONS))
)


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    """``values`` as Python floats, with None where a value is NaN or infinite."""
    column = np.asarray(values, dtype=np.float64).astype(object)
    column[~np.isfinite(values)] = None
    return list(column.tolist())


class TickerEvidence(Mapping[str, Any]):
    """The evidence of one ticker, built from the tick's arrays when first read."""

    __slots__ = ("_built", "_errors", "_gathered", "_index")

    def __init__(self, gathered: GatheredEvidence, index: int, errors: list[str]) -> None:
        self._gathered = gathered
        self._index = index
        self._errors = errors
        self._built: dict[str, Any] | None = None

    def _build(self) -> dict[str, Any]:
        if self._built is None:
            self._built = build_evidence(self._gathered, self._index, self._errors)
        return self._built

    def __getitem__(self, key: str) -> Any:
        return self._build()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())


def build_evidence(gathered: GatheredEvidence, i: int, errors: list[str]) -> dict[str, Any]:
    """JSON-ready evidence: per timeframe its score, gating and each signal's fields."""
    ev = gathered.evidence
    timeframes: dict[str, Any] = {}
    for t, tf in enumerate(TIMEFRAMES):
        signals: dict[str, Any] = {}
        for s, name in enumerate(SIGNALS):
            reading = gathered.readings.get((tf, s))
            if reading is None or not bool(reading.known[i]):
                signals[str(name)] = None  # UNKNOWN: no data or the signal failed
                continue
            fields = {key: _finite(float(arr[i])) for key, arr in reading.evidence.items()}
            signals[str(name)] = {"value": float(reading.value[i]), **fields}
        timeframes[str(tf)] = {
            "score": _finite(float(ev.timeframe_scores[t, i])),
            "gated_by_anchors": bool(ev.gated[t, i]),
            "signals": signals,
        }
    return {
        "timeframes": timeframes,
        "anchor_score": _finite(float(ev.anchor_score[i])),
        "coverage": float(ev.coverage[i]),
        "alignment": float(ev.alignment[i]),
        "filters": {
            name: "fail" if ev.filter_failed[f, i] else "unknown" if ev.filter_unknown[f, i]
            else "pass"
            for f, name in enumerate(FILTER_NAMES)
        },
        "errors": list(errors),
    }


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One pipeline's columns (None when disabled) and its per-ticker errors."""

    columns: HeuristicColumns | ProbabilisticColumns | None
    errors: list[str | None]


def materialise(
    tickers: tuple[str, ...],
    unknown_inputs: tuple[tuple[str, ...], ...],
    evaluated_at: datetime,
    tick_id: str,
    gathered: GatheredEvidence,
    heuristic: PipelineRun,
    probabilistic: PipelineRun,
    agreement: np.ndarray,
    consensus: np.ndarray,
    trailing_multiple: float,
) -> list[SignalOutput]:
    """One SignalOutput per ticker, in ``tickers`` order."""
    ev = gathered.evidence
    h = heuristic.columns
    p = probabilistic.columns
    h_rows = (
        list(zip(h.verdict.tolist(), h.score.tolist(), h.confidence.tolist(),
                 h.reasons.tolist(), strict=True))
        if isinstance(h, HeuristicColumns) else None
    )
    p_rows = (
        list(zip(p.verdict.tolist(), p.probability.tolist(), p.log_odds.tolist(),
                 p.entropy.tolist(), _finite_or_none(p.ev_r), _finite_or_none(p.payoff_ratio),
                 p.regime.tolist(), p.reasons.tolist(), strict=True))
        if isinstance(p, ProbabilisticColumns) else None
    )
    exits_known = ev.exits_known.tolist()
    entry, stop, trailing, atr = (a.tolist() for a in (ev.entry, ev.stop, ev.trailing_stop, ev.atr))
    targets = ev.targets.T.tolist()
    structure, fib = ev.structure_stop.tolist(), ev.fib_targets.tolist()
    failed_bits = (ev.filter_failed.astype(np.int64)
                   << np.arange(len(FILTER_NAMES))[:, None]).sum(axis=0).tolist()
    agreement_list, consensus_list = agreement.tolist(), consensus.tolist()
    outputs: list[SignalOutput] = []
    for i, ticker in enumerate(tickers):
        h_result = h_error = None
        if h_rows is not None and heuristic.errors[i] is None:
            verdict, score, confidence, reasons = h_rows[i]
            h_result = HeuristicResult(VERDICTS[verdict], score, confidence,
                                       _HEURISTIC_WORDS[reasons])
        else:
            h_error = heuristic.errors[i]
        p_result = p_error = None
        if p_rows is not None and probabilistic.errors[i] is None:
            verdict, prob, log_odds, entropy, ev_r, payoff, regime, reasons = p_rows[i]
            p_result = ProbabilisticResult(
                VERDICTS[verdict], prob, log_odds, entropy, ev_r, payoff,
                REGIMES[regime], _PROBABILISTIC_WORDS[reasons],
            )
        else:
            p_error = probabilistic.errors[i]
        exits = (
            ExitPlan(entry[i], stop[i], "structure" if structure[i] else "atr",
                     tuple(targets[i]), "fib_extension" if fib[i] else "r_multiple",
                     trailing_multiple, trailing[i], atr[i])
            if exits_known[i] else None
        )
        outputs.append(SignalOutput(
            ticker=ticker,
            evaluated_at=evaluated_at,
            tick_id=tick_id,
            heuristic=h_result,
            probabilistic=p_result,
            agreement=AGREEMENT_CODES[agreement_list[i]],
            consensus=VERDICTS[consensus_list[i]],
            exits=exits,
            failed_filters=_FILTER_WORDS[failed_bits[i]],
            unknown_inputs=unknown_inputs[i],
            heuristic_error=h_error,
            probabilistic_error=p_error,
            evidence=TickerEvidence(gathered, i, gathered.errors[i]),
        ))
    return outputs
