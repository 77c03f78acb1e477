"""Propagating company signals to competitors, decayed by relationship strength.

A signal about one company says something about its rivals: industry-wide news (results,
guidance, analyst calls) reads through in the same direction, zero-sum news (a product
launch, a contract win, a recall) in the opposite one. A measured co-movement pattern
overrides that prior with its own sign and scales the decay by how strong it is. Only the
strongest ``MAX_TARGETS`` competitors receive a signal, and weak results are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from stonks.competitive.comovement import CoMovement, match_patterns
from stonks.db.conflict import table_of
from stonks.extraction.company_layer import StoredImpact
from stonks.models import Company, CompetitiveSignalRecord, CompetitorRelationship
from stonks.models.enums import Direction
from stonks.models.types import utcnow

_RELATIONSHIPS = table_of(CompetitorRelationship)
_RECORDS = table_of(CompetitiveSignalRecord)
_COMPANIES = table_of(Company)

#: Share of a source signal that reaches a competitor of strength 1.
BASE_DECAY = 0.5
MAX_TARGETS = 8
MIN_MAGNITUDE = 0.01
ZERO_SUM_EVENTS = frozenset({"product_launch", "contract_win", "market_share", "recall"})
_SIGN = {Direction.BULLISH: 1.0, Direction.BEARISH: -1.0, Direction.NEUTRAL: 0.0}


@dataclass(frozen=True)
class Propagated:
    direction: Direction
    magnitude: float
    confidence: float
    decay: float
    pattern_score: float | None
    read_through: str


def propagate_one(direction: Direction, magnitude: float, confidence: float,
                  event_types: Sequence[str], strength: float,
                  pattern: CoMovement | None) -> Propagated | None:
    """The competitor's signal from one source signal, or None if too weak to keep."""
    sign = _SIGN[direction]
    if sign == 0.0:
        return None
    zero_sum = bool(event_types) and all(e in ZERO_SUM_EVENTS for e in event_types)
    relation = -1.0 if zero_sum else 1.0
    read_through = "zero_sum" if zero_sum else "contagion"
    decay = strength * BASE_DECAY
    pattern_score = None
    if pattern is not None and pattern.correlation != 0.0:
        relation = 1.0 if pattern.correlation > 0 else -1.0
        decay *= 0.5 + 0.5 * abs(pattern.correlation)
        pattern_score = pattern.correlation
        read_through = "pattern"
    out = magnitude * decay
    if out < MIN_MAGNITUDE:
        return None
    target = Direction.BULLISH if sign * relation > 0 else Direction.BEARISH
    return Propagated(target, round(min(1.0, out), 6),
                      round(confidence * (0.5 + 0.5 * strength), 6), round(decay, 6),
                      pattern_score, read_through)


def propagate_impacts(conn: sa.Connection, impacts: Sequence[StoredImpact]
                      ) -> dict[str, datetime]:
    """Write competitive records for ``impacts`` (oldest first).

    Returns each target ticker with the newest published time among its new records.
    """
    touched: dict[str, datetime] = {}
    now = utcnow()
    for impact in sorted(impacts, key=lambda i: (i.published_at, i.id)):
        conn.execute(sa.delete(_RECORDS).where(_RECORDS.c.source_impact_id == impact.id))
        links = conn.execute(
            sa.select(_RELATIONSHIPS.c.id, _RELATIONSHIPS.c.competitor_id,
                      _RELATIONSHIPS.c.strength, _COMPANIES.c.ticker)
            .join(_COMPANIES, _COMPANIES.c.id == _RELATIONSHIPS.c.competitor_id)
            .where(_RELATIONSHIPS.c.company_id == impact.company_id,
                   _COMPANIES.c.active.is_(True))
            .order_by(_RELATIONSHIPS.c.strength.desc(), _COMPANIES.c.ticker)
            .limit(MAX_TARGETS)).all()
        if not links or impact.direction == Direction.NEUTRAL.value:
            continue
        patterns = match_patterns(conn, impact.ticker, [str(r.ticker) for r in links],
                                  impact.published_at)
        rows = []
        for link in links:
            result = propagate_one(Direction(impact.direction), impact.magnitude,
                                   impact.confidence, impact.event_types, float(link.strength),
                                   patterns.get(str(link.ticker)))
            if result is None:
                continue
            rows.append({
                "source_impact_id": impact.id, "source_company_id": impact.company_id,
                "source_ticker": impact.ticker, "document_id": impact.document_id,
                "relationship_id": int(link.id), "company_id": int(link.competitor_id),
                "ticker": str(link.ticker), "direction": result.direction.value,
                "magnitude": result.magnitude, "confidence": result.confidence,
                "horizon": impact.horizon, "published_at": impact.published_at,
                "decay": result.decay, "pattern_score": result.pattern_score,
                "details": {"read_through": result.read_through,
                            "strength": float(link.strength),
                            "source_event_types": list(impact.event_types)},
                "created_at": now, "updated_at": now,
            })
            touched[str(link.ticker)] = impact.published_at
        if rows:
            conn.execute(sa.insert(_RECORDS), rows)
    return touched
