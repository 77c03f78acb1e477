"""The signal stage on the embedded default: scheduling, hand-off, provenance, replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa

from stonks.config import Settings
from stonks.db import get_engine
from stonks.extraction.stage import interleave, run_signal_stage
from stonks.models import DocumentKind, DocumentRoute
from stonks.parsing.leases import DOCUMENTS
from stonks.parsing.routing import parsed_message
from stonks.queues import Producer
from stonks.weighted_signals import SignalLayer, load_weighted_signals
from tests.stonks.extraction.conftest import DocumentSpec

T0 = datetime(2010, 1, 25, 13, 0, tzinfo=UTC)
CORPUS: list[DocumentSpec] = [
    ("extraction", "Apple posts record quarter",
     "Apple beat estimates and raised its outlook sharply.", ["AAPL"], T0),
    ("extraction", "Microsoft misses", "Microsoft missed estimates as sales fell.", ["MSFT"],
     T0 + timedelta(hours=1)),
    ("macro", "Fed raises rates", "The Federal Reserve raised its benchmark rate.", [],
     T0 + timedelta(hours=2)),
    ("extraction", "Exxon beats", "Exxon Mobil topped forecasts on higher oil prices.",
     ["XOM"], T0 + timedelta(hours=3)),
    ("macro", "Oil rig explosion", "An oil rig explosion shut output in the Gulf.", [],
     T0 + timedelta(hours=4)),
    ("extraction", "JPMorgan beats; Bank of America lags",
     "JPMorgan beat estimates while Bank of America reported weaker results.",
     ["JPM", "BAC"], T0 + timedelta(hours=5)),
]
TABLES = {
    "document_impact_records": "document_id, ticker, direction, magnitude, confidence, horizon,"
                               " published_at, model_name, prompt_hash, sentiment, event_types",
    "macro_impact_records": "ticker, direction, magnitude, confidence, horizon, published_at, "
                            "exposure_score, components",
    "competitive_signal_records": "document_id, source_ticker, ticker, direction, magnitude, "
                                  "confidence, published_at, decay, pattern_score",
    "global_events": "document_id, event_type, region, severity, published_at, model_name, "
                     "prompt_hash",
}


def _snapshot(settings: Settings) -> dict[str, list[Any]]:
    with get_engine(settings.effective_database_url).connect() as conn:
        return {table: sorted(tuple(map(str, row)) for row in conn.execute(
            sa.text(f"SELECT {columns} FROM {table}"))) for table, columns in TABLES.items()}


def _jobs(settings: Settings) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(settings.effective_redis_url)
    entries: Any = client.xrange("stonks:queue:aggregation")
    return [{**json.loads(f[b"body"]), "entry": e} for e, f in entries]


def test_interleave_takes_two_extractions_per_classification() -> None:
    order = [q for q, _ in interleave([1, 2, 3, 4, 5], [10, 20, 30, 40])]
    assert order == [0, 0, 1, 0, 0, 1, 0, 1, 1]


def test_queues_are_consumed_two_extractions_per_macro_classification(
        stage_settings: Callable[..., Settings],
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = stage_settings(extraction_batch_size=3)
    specs: list[DocumentSpec] = [
        ("extraction", f"Apple note {n}", "Apple beat estimates.", ["AAPL"],
         T0 + timedelta(minutes=n)) for n in range(6)]
    specs += [("macro", f"Fed note {n}", "The Fed raised rates.", [],
               T0 + timedelta(minutes=10 + n)) for n in range(3)]
    ids = parsed_documents(get_engine(settings.effective_database_url), specs)
    client = redis.Redis.from_url(settings.effective_redis_url)
    for doc_id, (route, *_rest, published) in zip(ids, specs, strict=True):
        queue = "extraction" if route == "extraction" else "macro_classification"
        Producer(client, queue).publish(parsed_message(
            doc_id, DocumentKind.NEWS, DocumentRoute(route), [], published, 0.9))
    summary = run_signal_stage(settings=settings)
    assert summary["sequence"] == "EEMEEMEEM"
    assert summary["extracted"] == 6 and summary["classified"] == 3
    for queue in ("extraction", "macro_classification"):
        assert client.xinfo_groups(f"stonks:queue:{queue}")[0]["pending"] == 0


def test_each_ticker_gets_one_aggregation_job_naming_its_layers(
        stage_settings: Callable[..., Settings],
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = stage_settings()
    parsed_documents(get_engine(settings.effective_database_url), CORPUS)
    summary = run_signal_stage(settings=settings)
    jobs = _jobs(settings)
    assert len(jobs) == summary["aggregation_jobs"] == len({j["ticker"] for j in jobs})
    by_ticker = {j["ticker"]: j for j in jobs}
    assert set(by_ticker["AAPL"]["layers"]) >= {"company", "macro"}
    assert "competitive" in by_ticker["CVX"]["layers"]  # Exxon's rival
    assert by_ticker["XOM"]["as_of"].startswith("2010-01-25T17:00")  # the explosion


def test_every_signal_keeps_its_provenance_and_never_predates_its_document(
        stage_settings: Callable[..., Settings],
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = stage_settings()
    engine = get_engine(settings.effective_database_url)
    parsed_documents(engine, CORPUS)
    run_signal_stage(settings=settings)
    with engine.connect() as conn:
        published = {int(i): p for i, p in conn.execute(
            sa.select(DOCUMENTS.c.id, DOCUMENTS.c.published_at))}
        tickers = [str(t) for (t,) in conn.execute(sa.text(
            "SELECT ticker FROM document_impact_records UNION SELECT ticker FROM "
            "macro_impact_records UNION SELECT ticker FROM competitive_signal_records"))]
        signals = [s for t in tickers for s in load_weighted_signals(
            conn, t, since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))]
    assert {s.layer for s in signals} == set(SignalLayer)
    for signal in signals:
        p = signal.provenance
        assert p.document_id is not None and p.agent_variant_id is not None
        assert p.model_name and p.prompt_hash and len(p.prompt_hash) == 64
        assert signal.event_time == published[p.document_id]  # never after its document
        if signal.layer is SignalLayer.MACRO:
            assert p.event_id is not None


def test_a_replay_gives_identical_rows_and_aggregation_jobs(
        stage_settings: Callable[..., Settings],
        parsed_documents: Callable[..., list[int]]) -> None:
    settings = stage_settings()
    engine = get_engine(settings.effective_database_url)
    parsed_documents(engine, CORPUS)
    run_signal_stage(settings=settings)
    first, first_jobs = _snapshot(settings), _jobs(settings)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE documents SET status = 'parsed'"))
    replay = run_signal_stage(settings=settings)
    assert replay["extracted"] == 4 and replay["classified"] == 2
    assert _snapshot(settings) == first
    replay_ids = [j["message_id"] for j in _jobs(settings)[len(first_jobs):]]
    assert replay_ids == [j["message_id"] for j in first_jobs]  # consumers dedupe them
