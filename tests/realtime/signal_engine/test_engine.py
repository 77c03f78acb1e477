"""The engine end to end: look-ahead, determinism, failure isolation, persistence, metrics."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import redis
import sqlalchemy as sa

from realtime.signal_engine import (
    Agreement,
    AgreementRecorder,
    EngineConfig,
    SignalEngine,
    SignalOutput,
    TickerInputs,
    Timeframe,
    Verdict,
    inputs_from_daily,
    persist_outputs,
    to_recommendation,
)
from realtime.signal_engine.contracts import Bars
from realtime.signal_engine.evidence import Evidence
from realtime.signal_engine.pipelines import run_probabilistic
from stonks.config import Settings
from stonks.db import create_engine_for
from stonks.models.recommendations import RecommendationAction
from tests.realtime.signal_engine.conftest import AS_OF, TICKERS, random_walk_bars


def verdicts(output: SignalOutput) -> tuple[object, ...]:
    h, p = output.heuristic, output.probabilistic
    assert h is not None and p is not None
    return (h.verdict, h.score, h.confidence, p.verdict, p.probability, p.ev_r, output.exits)


def truncated(bars: Bars, cut: datetime) -> Bars:
    end = bars.count_until(int(cut.timestamp()))
    return Bars(*(getattr(bars, f.name)[:end] for f in dataclasses.fields(Bars)))


def test_appending_bars_after_t_never_changes_the_verdict_at_t(
    engine: SignalEngine, daily_bars: dict[str, Bars]
) -> None:
    for days_back in (20, 75, 130):
        t = AS_OF - timedelta(days=days_back)
        short = [inputs_from_daily(k, truncated(daily_bars[k], t)) for k in TICKERS]
        full = [inputs_from_daily(k, daily_bars[k]) for k in TICKERS]
        at_t = engine.evaluate_batch(short, t, tick_id="t")
        later = engine.evaluate_batch(full, t, tick_id="t")
        assert [verdicts(o) for o in at_t] == [verdicts(o) for o in later]
        assert [dict(o.evidence) for o in at_t] == [dict(o.evidence) for o in later]


def test_identical_input_gives_identical_output(
    engine: SignalEngine, sample_inputs: list[TickerInputs]
) -> None:
    first = engine.evaluate_batch(sample_inputs, AS_OF, tick_id="x")
    with SignalEngine(parallel=False) as sequential:
        second = sequential.evaluate_batch(sample_inputs, AS_OF, tick_id="x")
    assert [verdicts(o) for o in first] == [verdicts(o) for o in second]


def test_single_ticker_evaluation_matches_the_batch(
    engine: SignalEngine, sample_inputs: list[TickerInputs]
) -> None:
    batch = engine.evaluate_batch(sample_inputs, AS_OF)
    alone = engine.evaluate(sample_inputs[2], AS_OF)
    assert verdicts(alone) == verdicts(batch[2])


def test_outputs_carry_verdicts_exits_and_unknown_inputs(
    engine: SignalEngine, sample_inputs: list[TickerInputs]
) -> None:
    outputs = engine.evaluate_batch(sample_inputs, AS_OF)
    assert [o.ticker for o in outputs] == list(TICKERS)
    for output in outputs:
        assert output.probability is not None and 0 <= output.probability <= 1
        assert output.exits is not None
        assert output.exits.stop_loss < output.exits.entry < output.exits.targets[0]
        assert "bars:H1" in output.unknown_inputs
        assert output.consensus is not Verdict.BUY  # unknown earnings date never passes
        assert set(output.evidence["timeframes"]) == {"M30", "H1", "H4", "D", "W", "M"}


def test_intraday_timeframes_are_used_when_present(engine: SignalEngine, daily_bars) -> None:  # type: ignore[no-untyped-def]
    start = int(datetime(2010, 6, 1, tzinfo=UTC).timestamp())
    intraday = {
        Timeframe.M30: random_walk_bars(1, 400, start, 1800, drift=0.002),
        Timeframe.H1: random_walk_bars(2, 300, start, 3600, drift=0.002),
        Timeframe.H4: random_walk_bars(3, 200, start, 4 * 3600, drift=0.002),
    }
    item = inputs_from_daily("AAPL", daily_bars["AAPL"], intraday=intraday)
    output = engine.evaluate(item, AS_OF)
    assert "bars:H1" not in output.unknown_inputs
    assert output.evidence["timeframes"]["H1"]["score"] is not None


def failing_on_second_ticker(evidence: Evidence, config: EngineConfig):  # type: ignore[no-untyped-def]
    if evidence.n_tickers > 1 or evidence.entry[0] == SECOND_ENTRY[0]:
        raise RuntimeError("model blew up")
    return run_probabilistic(evidence, config)


SECOND_ENTRY = [0.0]


def test_a_failing_pipeline_never_stops_the_other_or_the_tick(
    sample_inputs: list[TickerInputs], daily_bars: dict[str, Bars]
) -> None:
    SECOND_ENTRY[0] = float(daily_bars[TICKERS[1]].close[-1])
    with SignalEngine(probabilistic=failing_on_second_ticker) as engine:
        outputs = engine.evaluate_batch(sample_inputs, AS_OF)
    broken = outputs[1]
    assert broken.probabilistic is None
    assert broken.probabilistic_error == "RuntimeError: model blew up"
    assert broken.heuristic is not None  # the other pipeline still judged it
    assert broken.agreement is Agreement.INCOMPLETE
    others = outputs[:1] + outputs[2:]
    assert all(o.probabilistic is not None and o.probabilistic_error is None for o in others)


def test_single_pipeline_mode_runs_only_the_heuristic(sample_inputs: list[TickerInputs]) -> None:
    config = EngineConfig.from_settings(Settings(dual_pipeline_enabled=False))
    with SignalEngine(config) as engine:
        output = engine.evaluate(sample_inputs[0], AS_OF)
    assert output.heuristic is not None
    assert output.probabilistic is None and output.probabilistic_error is None


def test_outputs_persist_to_postgresql_and_reruns_overwrite(
    engine: SignalEngine, sample_inputs: list[TickerInputs], migrated_pg_url: str
) -> None:
    db = create_engine_for(migrated_pg_url)
    try:
        outputs = engine.evaluate_batch(sample_inputs, AS_OF, tick_id="tick-1")
        ids = persist_outputs(db, outputs, companies={})
        again = persist_outputs(db, engine.evaluate_batch(sample_inputs, AS_OF, "tick-2"), {})
        assert ids == again
        with db.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT ticker, tick_id, probability, heuristic_verdict, stop_loss, targets, "
                "evidence FROM signal_engine_outputs ORDER BY ticker")).all()
        assert len(rows) == len(TICKERS)
        aapl = next(r for r in rows if r.ticker == "AAPL")
        assert aapl.tick_id == "tick-2"
        assert 0 <= aapl.probability <= 1
        assert aapl.stop_loss is not None and len(aapl.targets) == 2
        assert aapl.evidence["timeframes"]["D"]["signals"]["ma_stack"] is not None
    finally:
        db.dispose()


def test_rolling_agreement_metrics_land_in_redis(
    engine: SignalEngine, sample_inputs: list[TickerInputs], redis_client: redis.Redis
) -> None:
    recorder = AgreementRecorder(redis_client, window=3)
    for day in range(5):
        outputs = engine.evaluate_batch(sample_inputs, AS_OF - timedelta(days=day))
        recorder.record(outputs)
    stats = recorder.ticker_stats("AAPL")
    assert stats.ticks == 3  # capped at the window
    assert stats.agreement_rate is not None and 0 <= stats.agreement_rate <= 1
    ticks = recorder.recent_ticks()
    assert len(ticks) == 3 and ticks[0]["tickers"] == len(TICKERS)
    assert sum(recorder.verdict_pairs().values()) == 5 * len(TICKERS)
    assert redis_client.exists("stonks:signal_engine:agreement:AAPL")


def test_outputs_map_onto_recommendations(
    engine: SignalEngine, sample_inputs: list[TickerInputs]
) -> None:
    output = engine.evaluate(sample_inputs[0], AS_OF)
    rec = to_recommendation(output, company_id=7, idempotency_key="k")
    assert rec.ticker == output.ticker
    assert rec.probability == pytest.approx(output.probability)
    assert rec.payoff_ratio == pytest.approx(output.payoff_ratio)
    assert rec.action in (RecommendationAction.WATCH, RecommendationAction.HOLD)
    assert rec.stop_loss is not None and float(rec.stop_loss) < float(rec.entry_price or 0)
    assert rec.details["agreement"] == str(output.agreement)
    assert np.isfinite(rec.confidence)
