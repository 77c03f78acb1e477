"""Persists SignalOutputs to ``signal_engine_outputs`` and maps them onto Recommendations."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.signal_engine.contracts import Agreement, SignalOutput, Verdict
from stonks.db.conflict import conflict_insert, table_of
from stonks.models.enums import Direction, TradingMode
from stonks.models.recommendations import Recommendation, RecommendationAction
from stonks.models.signal_engine import SignalEngineOutput
from stonks.models.sources import Company

logger = logging.getLogger(__name__)

_TABLE = table_of(SignalEngineOutput)
_ACTIONS = {
    Verdict.BUY: RecommendationAction.BUY,
    Verdict.WATCH: RecommendationAction.WATCH,
    Verdict.SKIP: RecommendationAction.HOLD,
}


def _price(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.8f}")


def output_row(output: SignalOutput, company_id: int | None = None) -> dict[str, Any]:
    """The ``signal_engine_outputs`` row of one output."""
    h, p, exits = output.heuristic, output.probabilistic, output.exits
    evidence = dict(output.evidence)
    evidence["agreement"] = str(output.agreement)
    evidence["consensus"] = str(output.consensus)
    evidence["unknown_inputs"] = list(output.unknown_inputs)
    evidence["heuristic_reasons"] = list(h.reasons) if h else []
    evidence["probabilistic_reasons"] = list(p.reasons) if p else []
    if p is not None:
        evidence["payoff_ratio"] = p.payoff_ratio
    if exits is not None:
        evidence["exits"] = {"stop_kind": exits.stop_kind, "target_kind": exits.target_kind,
                             "trailing_stop": exits.trailing_stop, "atr": exits.atr}
    return {
        "company_id": company_id,
        "ticker": output.ticker,
        "evaluated_at": output.evaluated_at,
        "tick_id": output.tick_id,
        "heuristic_verdict": h.verdict if h else None,
        "heuristic_score": h.score if h else None,
        "heuristic_confidence": h.confidence if h else None,
        "heuristic_error": output.heuristic_error,
        "probabilistic_verdict": p.verdict if p else None,
        "probability": p.probability if p else None,
        "log_odds": p.log_odds if p else None,
        "entropy": p.entropy if p else None,
        "ev_r": p.ev_r if p else None,
        "regime": p.regime if p else None,
        "probabilistic_error": output.probabilistic_error,
        "pipelines_agree": (None if output.agreement is Agreement.INCOMPLETE
                            else output.agreement is Agreement.AGREE),
        "entry_price": _price(exits.entry) if exits else None,
        "stop_loss": _price(exits.stop_loss) if exits else None,
        "targets": [str(_price(t)) for t in exits.targets] if exits else [],
        "trailing_atr_multiple": exits.trailing_atr_multiple if exits else None,
        "failed_filters": list(output.failed_filters),
        "evidence": evidence,
    }


def company_ids(engine: Engine, tickers: Sequence[str]) -> dict[str, int]:
    """Ids of the ``companies`` rows of ``tickers`` (tickers without a row are left out)."""
    table = table_of(Company)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.ticker, table.c.id).where(
            table.c.ticker.in_(list(tickers))))
        return {ticker: int(row_id) for ticker, row_id in rows}


def persist_outputs(
    engine: Engine,
    outputs: Sequence[SignalOutput],
    companies: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Upsert outputs (unique per ticker and ``evaluated_at``; a re-run overwrites, never
    duplicates) in one transaction; returns each ticker's row id."""
    if not outputs:
        return {}
    if companies is None:
        companies = company_ids(engine, [o.ticker for o in outputs])
    rows = [output_row(o, companies.get(o.ticker)) for o in outputs]
    insert = conflict_insert(engine.dialect.name, _TABLE)
    updated = {name: insert.excluded[name] for name in rows[0] if name not in
               ("ticker", "evaluated_at")}
    statement = insert.on_conflict_do_update(
        index_elements=["ticker", "evaluated_at"], set_=updated
    ).returning(_TABLE.c.ticker, _TABLE.c.id)
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for start in range(0, len(rows), 500):
            for ticker, row_id in conn.execute(statement, rows[start : start + 500]):
                ids[ticker] = int(row_id)
    logger.info("persisted %d signal engine outputs", len(rows))
    return ids


def to_recommendation(
    output: SignalOutput,
    *,
    company_id: int,
    idempotency_key: str,
    signal_output_id: int | None = None,
    mode: TradingMode = TradingMode.PAPER,
    valid_for: timedelta = timedelta(days=1),
) -> Recommendation:
    """The Recommendation an output supports (unsaved; the recommendation worker adds
    eligibility, suppression, evidence rows and the thesis).

    Action follows the consensus (SKIP -> hold). Confidence is the heuristic confidence,
    probability and EV_R the Bayesian ones, payoff ratio the first target in R: the
    trading engine's Kelly sizing reads probability and payoff ratio.
    """
    h, p, exits = output.heuristic, output.probabilistic, output.exits
    score = h.score if h else 0.0
    if output.consensus is Verdict.BUY or (output.consensus is Verdict.WATCH and score > 0):
        direction = Direction.BULLISH
    elif score < 0:
        direction = Direction.BEARISH
    else:
        direction = Direction.NEUTRAL
    confidence = h.confidence if h else (p.probability if p else 0.0)
    return Recommendation(
        idempotency_key=idempotency_key,
        company_id=company_id,
        ticker=output.ticker,
        signal_output_id=signal_output_id,
        action=_ACTIONS[output.consensus],
        direction=direction,
        mode=mode,
        confidence=min(max(confidence, 0.0), 1.0),
        probability=p.probability if p else None,
        payoff_ratio=output.payoff_ratio,
        ev_r=p.ev_r if p else None,
        trend_score=h.score if h else None,
        contradiction=output.agreement is Agreement.CONFLICT,
        entry_price=_price(exits.entry) if exits else None,
        stop_loss=_price(exits.stop_loss) if exits else None,
        take_profit=_price(exits.targets[0]) if exits else None,
        targets=[str(_price(t)) for t in exits.targets] if exits else [],
        time_horizon="swing",
        valid_until=output.evaluated_at + valid_for,
        details={
            "heuristic_verdict": str(h.verdict) if h else None,
            "probabilistic_verdict": str(p.verdict) if p else None,
            "agreement": str(output.agreement),
            "regime": str(p.regime) if p else None,
            "failed_filters": list(output.failed_filters),
            "unknown_inputs": list(output.unknown_inputs),
            "trailing_stop": exits.trailing_stop if exits else None,
        },
    )
