"""Competitor relationships, co-movement patterns and propagation decay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.competitive.comovement import CoMovement, correlation, match_patterns
from stonks.competitive.propagation import BASE_DECAY, MIN_MAGNITUDE, propagate_one
from stonks.competitive.relationships import ensure_relationships, industry_strength
from stonks.config import load_settings
from stonks.ingestion.companies import seed_companies
from stonks.models import DocumentImpactRecord, Source
from stonks.models.enums import Direction
from stonks.parsing.leases import DOCUMENTS

SOURCES = sa.inspect(Source).local_table
IMPACTS = sa.inspect(DocumentImpactRecord).local_table

T0 = datetime(2010, 1, 4, 14, 0, tzinfo=UTC)


def test_decay_scales_with_relationship_strength() -> None:
    strong = propagate_one(Direction.BULLISH, 0.8, 0.9, ["earnings_beat"], 0.9, None)
    weak = propagate_one(Direction.BULLISH, 0.8, 0.9, ["earnings_beat"], 0.3, None)
    assert strong is not None and weak is not None
    assert strong.decay == pytest.approx(0.9 * BASE_DECAY)
    assert strong.magnitude == pytest.approx(0.8 * 0.9 * BASE_DECAY)
    assert weak.magnitude == pytest.approx(0.8 * 0.3 * BASE_DECAY)
    assert strong.confidence > weak.confidence
    assert strong.direction is Direction.BULLISH  # results read through to the industry


def test_zero_sum_news_propagates_in_the_opposite_direction() -> None:
    result = propagate_one(Direction.BEARISH, 0.6, 0.8, ["recall"], 0.8, None)
    assert result is not None and result.direction is Direction.BULLISH
    assert result.read_through == "zero_sum"


def test_a_measured_pattern_overrides_the_prior_and_scales_decay() -> None:
    anti = CoMovement(correlation=-0.6, overlap_days=5)
    result = propagate_one(Direction.BULLISH, 0.8, 0.9, ["earnings_beat"], 0.8, anti)
    assert result is not None and result.direction is Direction.BEARISH
    assert result.decay == pytest.approx(0.8 * BASE_DECAY * (0.5 + 0.5 * 0.6))
    assert result.pattern_score == -0.6


def test_weak_and_neutral_signals_do_not_propagate() -> None:
    assert propagate_one(Direction.NEUTRAL, 0.8, 0.9, [], 0.9, None) is None
    tiny = MIN_MAGNITUDE / (0.25 * BASE_DECAY) * 0.9
    assert propagate_one(Direction.BULLISH, tiny, 0.9, [], 0.25, None) is None


def test_correlation_of_paired_daily_strengths() -> None:
    assert correlation([(1, 2), (2, 4), (3, 6)]) == pytest.approx(1.0)
    assert correlation([(1, -1), (2, -2), (3, -3)]) == pytest.approx(-1.0)
    assert correlation([(0.5, 0.4), (0.5, 0.3), (0.5, 0.6)]) == 1.0  # same sign every day
    assert correlation([(1, 1)]) is None


def test_relationships_link_industry_peers_and_explicit_rivals(sqlite_engine: Engine) -> None:
    seed_companies(sqlite_engine, load_settings().tracked_tickers)
    pairs = ensure_relationships(sqlite_engine)
    assert ensure_relationships(sqlite_engine) == pairs  # idempotent
    query = sa.text("SELECT a.ticker AS a, b.ticker AS b, r.kind, r.strength FROM "
                    "competitor_relationships r JOIN companies a ON a.id = r.company_id "
                    "JOIN companies b ON b.id = r.competitor_id")
    with sqlite_engine.connect() as conn:
        links = {(r.a, r.b): (r.kind, r.strength) for r in conn.execute(query)}
    assert links[("T", "VZ")] == ("explicit", 0.9) and links[("VZ", "T")] == ("explicit", 0.9)
    assert links[("AAPL", "MSFT")][0] == "explicit"  # different industries, named rivals
    assert links[("JPM", "BAC")] == ("explicit", 0.8)  # explicit beats same-industry
    assert links[("WFC", "BAC")][0] == "same_industry"
    assert industry_strength(2) > industry_strength(25) >= 0.25


def test_the_pattern_matcher_only_sees_signals_published_before(
        sqlite_engine: Engine) -> None:
    seed_companies(sqlite_engine, load_settings().tracked_tickers)
    with sqlite_engine.begin() as conn:
        ids = {t: i for t, i in conn.execute(sa.text("SELECT ticker, id FROM companies"))}
        source = conn.execute(sa.insert(SOURCES).values(
            key="s", name="s", kind="news", enabled=True, config={}, created_at=T0,
            updated_at=T0).returning(SOURCES.c.id)).scalar_one()
        for day in range(5):
            at = T0 + timedelta(days=day)
            doc = conn.execute(sa.insert(DOCUMENTS).values(
                source_id=source, kind="news", published_at=at, content_hash=f"{day:064x}",
                provider_data={}, status="extracted", attempts=1, created_at=at, updated_at=at,
            ).returning(DOCUMENTS.c.id)).scalar_one()
            # XOM and CVX move opposite ways every day.
            for ticker, direction in (("XOM", "bullish" if day % 2 else "bearish"),
                                      ("CVX", "bearish" if day % 2 else "bullish")):
                conn.execute(sa.insert(IMPACTS).values(
                    document_id=doc, company_id=ids[ticker], ticker=ticker, direction=direction,
                    magnitude=0.5, confidence=0.8, horizon="short", published_at=at,
                    model_name="lexicon-v1", event_types=[], evidence={}, created_at=at,
                    updated_at=at))
        assert match_patterns(conn, "XOM", ["CVX"], T0 + timedelta(days=2)) == {}
        pattern = match_patterns(conn, "XOM", ["CVX"], T0 + timedelta(days=4))
        assert pattern["CVX"].overlap_days == 4
        assert pattern["CVX"].correlation == pytest.approx(-1.0)
