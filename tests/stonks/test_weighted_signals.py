"""load_weighted_signals reads all three layers with provenance, on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.models import (
    AgentVariant,
    AiAgent,
    Company,
    CompetitiveSignalRecord,
    Document,
    DocumentImpactRecord,
    GlobalEvent,
    MacroImpactRecord,
    Source,
)
from stonks.weighted_signals import (
    AggregationJob,
    SignalLayer,
    WeightedSignal,
    load_weighted_signals,
)

T0 = datetime(2010, 1, 25, 21, 35, tzinfo=UTC)


def _table(model: Any) -> sa.Table:
    return sa.inspect(model).local_table  # type: ignore[no-any-return]


def _insert(conn: sa.Connection, model: Any, **values: Any) -> int:
    values.setdefault("created_at", T0)
    if "updated_at" in _table(model).c:
        values.setdefault("updated_at", T0)
    table = _table(model)
    return int(conn.execute(sa.insert(table).values(**values).returning(table.c.id))
               .scalar_one())


@pytest.fixture
def layered(db_engine: Engine) -> dict[str, int]:
    """AAPL with one signal per layer (company, macro, competitive from MSFT), plus noise."""
    with db_engine.begin() as conn:
        source = _insert(conn, Source, key="s", name="s", kind="news", enabled=True, config={})
        aapl = _insert(conn, Company, ticker="AAPL", name="Apple", tracked=True, active=True)
        msft = _insert(conn, Company, ticker="MSFT", name="Microsoft", tracked=True, active=True)
        agent = _insert(conn, AiAgent, key="document-extractor", name="x", enabled=True)
        variant = _insert(conn, AgentVariant, agent_id=agent, name="embedded",
                          provider="lexicon", model_name="lexicon-v1", prompt_hash="a" * 64,
                          parameters={}, weight=1.0, enabled=True)
        docs = [_insert(conn, Document, source_id=source, kind="news", published_at=T0 + d,
                        content_hash=f"{n:064x}", provider_data={}, status="extracted",
                        attempts=1)
                for n, d in enumerate((timedelta(0), timedelta(hours=1), timedelta(hours=2),
                                       timedelta(days=3)))]
        common = {"confidence": 0.8, "horizon": "short"}
        company = _insert(conn, DocumentImpactRecord, document_id=docs[0], company_id=aapl,
                          ticker="AAPL", direction="bullish", magnitude=0.6,
                          published_at=T0, agent_variant_id=variant, model_name="lexicon-v1",
                          prompt_hash="a" * 64, event_types=[], evidence={}, **common)
        source_impact = _insert(conn, DocumentImpactRecord, document_id=docs[1],
                                company_id=msft, ticker="MSFT", direction="bearish",
                                magnitude=0.5, published_at=T0 + timedelta(hours=1),
                                agent_variant_id=variant, model_name="lexicon-v1",
                                prompt_hash="a" * 64, event_types=[], evidence={}, **common)
        competitive = _insert(conn, CompetitiveSignalRecord, source_impact_id=source_impact,
                              source_company_id=msft, source_ticker="MSFT",
                              document_id=docs[1], company_id=aapl, ticker="AAPL",
                              direction="bullish", magnitude=0.2, decay=0.4,
                              published_at=T0 + timedelta(hours=1), details={}, **common)
        event = _insert(conn, GlobalEvent, document_id=docs[2], event_type="rate_hike",
                        title="Fed hikes", region="us", direction="bearish", severity=0.7,
                        confidence=0.7, affected_sectors=[], affected_commodities=[],
                        affected_regions=[], occurred_at=T0 + timedelta(hours=2),
                        published_at=T0 + timedelta(hours=2), output={},
                        agent_variant_id=variant, model_name="macro-rules-v1",
                        prompt_hash="b" * 64)
        macro = _insert(conn, MacroImpactRecord, event_id=event, company_id=aapl,
                        ticker="AAPL", direction="neutral", magnitude=0.01,
                        published_at=T0 + timedelta(hours=2), exposure_score=0.01,
                        components={}, confidence=0.5, horizon="medium")
        late = _insert(conn, DocumentImpactRecord, document_id=docs[3], company_id=aapl,
                       ticker="AAPL", direction="bearish", magnitude=0.9,
                       published_at=T0 + timedelta(days=3), agent_variant_id=variant,
                       model_name="lexicon-v1", prompt_hash="a" * 64, event_types=[],
                       evidence={}, **common)
    return {"company": company, "competitive": competitive, "macro": macro, "event": event,
            "late": late, "variant": variant, "doc0": docs[0], "doc1": docs[1],
            "doc2": docs[2]}


def test_all_layers_come_back_oldest_first_with_provenance(
        db_engine: Engine, layered: dict[str, int]) -> None:
    with db_engine.connect() as conn:
        signals = load_weighted_signals(conn, "AAPL", since=T0, until=T0 + timedelta(days=1))
    assert [s.layer for s in signals] == [SignalLayer.COMPANY, SignalLayer.COMPETITIVE,
                                          SignalLayer.MACRO]
    company, competitive, macro = signals
    assert (company.direction, company.weight, company.confidence) == (1.0, 0.6, 0.8)
    assert company.event_time == T0 and company.horizon == "short"
    assert company.provenance.document_id == layered["doc0"]
    assert company.provenance.agent_variant_id == layered["variant"]
    assert company.provenance.prompt_hash == "a" * 64
    assert competitive.direction == 1.0 and competitive.weight == 0.2
    # Competitive and macro signals name the document and agent behind them.
    assert competitive.provenance.document_id == layered["doc1"]
    assert competitive.provenance.model_name == "lexicon-v1"
    assert macro.direction == 0.0 and macro.horizon == "medium"
    assert macro.provenance.event_id == layered["event"]
    assert macro.provenance.document_id == layered["doc2"]
    assert macro.provenance.model_name == "macro-rules-v1"
    assert macro.provenance.prompt_hash == "b" * 64
    assert macro.signed_strength == 0.0
    assert company.signed_strength == pytest.approx(0.48)


def test_the_window_is_inclusive_and_excludes_later_information(
        db_engine: Engine, layered: dict[str, int]) -> None:
    with db_engine.connect() as conn:
        at_t0 = load_weighted_signals(conn, "AAPL", since=T0, until=T0)
        everything = load_weighted_signals(conn, "AAPL", since=T0 - timedelta(days=1),
                                           until=T0 + timedelta(days=4))
        only_macro = load_weighted_signals(conn, "AAPL", since=T0, until=T0 + timedelta(days=4),
                                           layers=(SignalLayer.MACRO,))
        other = load_weighted_signals(conn, "MSFT", since=T0, until=T0 + timedelta(days=4))
    assert [s.provenance.record_id for s in at_t0] == [layered["company"]]
    assert len(everything) == 4 and everything[-1].direction == -1.0
    assert [s.layer for s in only_macro] == [SignalLayer.MACRO]
    assert [s.provenance.table for s in other] == ["document_impact_records"]


def test_aggregation_job_round_trips_through_queue_fields() -> None:
    job = AggregationJob(ticker="AAPL", as_of=T0, layers=[SignalLayer.COMPANY,
                                                          SignalLayer.MACRO])
    fields = {k.encode(): v.encode() for k, v in job.to_fields().items()}
    assert AggregationJob.from_fields(fields) == job


def test_weighted_signal_bounds_are_enforced() -> None:
    with pytest.raises(ValueError):
        WeightedSignal.model_validate({
            "layer": "company", "ticker": "AAPL", "direction": 1.5, "weight": 0.5,
            "confidence": 0.5, "event_time": T0, "horizon": "short",
            "provenance": {"table": "document_impact_records", "record_id": 1}})


def test_signals_read_without_validation_equal_validated_ones(
        db_engine: Engine, layered: dict[str, int]) -> None:
    """The read builds the models without validating each row (the tables' constraints hold
    what validation checks): the result is what validation of the same values gives, with
    plain values and aware UTC times."""
    with db_engine.connect() as conn:
        signals = load_weighted_signals(conn, "AAPL", since=T0 - timedelta(days=1),
                                        until=T0 + timedelta(days=4))
    assert len(signals) == 4
    for signal in signals:
        assert WeightedSignal.model_validate(signal.model_dump()) == signal
        assert signal.event_time.tzinfo is UTC
        assert type(signal.horizon) is str and type(signal.direction) is float


def test_the_aggregation_read_returns_what_load_weighted_signals_returns(
        db_engine: Engine, layered: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL in autocommit mode the aggregation reads through a server-side prepared
    statement; on any connection it returns what ``load_weighted_signals`` does."""
    from realtime import prepared
    from realtime.aggregation.signals import load_signals_batch

    monkeypatch.setattr(prepared, "REPLAN_INTERVAL_S", 3600.0)  # no re-planning mid-test

    windows = [("AAPL", T0 - timedelta(days=1), T0 + timedelta(days=4)),
               ("AAPL", T0, T0 + timedelta(hours=1)), ("MSFT", T0, T0 + timedelta(days=4)),
               ("NONE", T0, T0)]
    engine = db_engine
    if db_engine.dialect.name == "postgresql":
        engine = db_engine.execution_options(isolation_level="AUTOCOMMIT")
    seen: list[str] = []

    @sa.event.listens_for(db_engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0])

    for _ in range(2):
        with engine.connect() as conn:
            batch = load_signals_batch(conn, windows)
            single = load_signals_batch(conn, windows[:1])
        with db_engine.connect() as conn:
            expected = [load_weighted_signals(conn, t, since=lo, until=hi)
                        for t, lo, hi in windows]
        assert batch == expected and single == expected[:1]
        assert [len(found) for found in batch] == [4, 2, 1, 0]
    if db_engine.dialect.name == "postgresql":  # prepared once by this session, then run
        assert seen.count("PREPARE") == 1 and seen.count("EXECUTE") == 4
