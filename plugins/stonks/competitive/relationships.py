"""Competitor relationships: same-industry peers plus explicit rival pairs, with strength.

Same-industry links are weaker in crowded industries (a signal spreads thinner across 25
conglomerates than across 2 telecoms). Explicit pairs are head-to-head rivals the desk
names; the strongest reason wins for each ordered pair (one row per pair).
"""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.db.conflict import table_of
from stonks.extraction.upserts import upsert_rows
from stonks.models import Company, CompetitorRelationship
from stonks.models.competitive import RelationshipKind
from stonks.models.types import utcnow

_RELATIONSHIPS = table_of(CompetitorRelationship)
_COMPANIES = table_of(Company)

#: Head-to-head rivals (both directions are stored), with strength.
EXPLICIT_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("AAPL", "MSFT", 0.6), ("AAPL", "HPQ", 0.5), ("AAPL", "DELL", 0.5), ("MSFT", "GOOG", 0.6),
    ("MSFT", "ORCL", 0.6), ("MSFT", "IBM", 0.5), ("IBM", "HPQ", 0.6), ("IBM", "ORCL", 0.5),
    ("GOOG", "YHOO", 0.8), ("AMZN", "WMT", 0.6), ("AMZN", "EBAY", 0.6), ("WMT", "TGT", 0.8),
    ("WMT", "COST", 0.7), ("XOM", "CVX", 0.8), ("XOM", "COP", 0.7), ("JPM", "BAC", 0.8),
    ("JPM", "C", 0.8), ("JPM", "WFC", 0.7), ("JPM", "GS", 0.6), ("GS", "MS", 0.8),
    ("JNJ", "PFE", 0.6), ("JNJ", "MRK", 0.5), ("JNJ", "ABT", 0.6), ("GE", "SIEGY", 0.6),
    ("GE", "HON", 0.6), ("GE", "MMM", 0.5), ("T", "VZ", 0.9), ("KO", "PEP", 0.9),
    ("INTC", "AMD", 0.8), ("CSCO", "JNPR", 0.7), ("F", "GM", 0.8), ("HD", "LOW", 0.9),
    ("UPS", "FDX", 0.9), ("V", "MA", 0.9), ("BA", "LMT", 0.5),
)


def industry_strength(members: int) -> float:
    """Link strength between two companies of an industry with ``members`` companies."""
    return round(max(0.25, min(0.6, 0.65 - 0.02 * members)), 4)


def ensure_relationships(engine: Engine) -> int:
    """Upsert seeded relationships (same industry, explicit); returns the number of pairs."""
    now = utcnow()
    with engine.begin() as conn:
        companies = conn.execute(sa.select(_COMPANIES.c.id, _COMPANIES.c.ticker,
                                           _COMPANIES.c.industry)
                                 .where(_COMPANIES.c.active.is_(True))).all()
        by_industry: dict[str, list[int]] = defaultdict(list)
        for c in companies:
            if c.industry:
                by_industry[c.industry].append(int(c.id))
        pairs: dict[tuple[int, int], dict[str, object]] = {}
        for industry, ids in by_industry.items():
            strength = industry_strength(len(ids))
            for a in ids:
                for b in ids:
                    if a != b:
                        pairs[(a, b)] = {"kind": RelationshipKind.SAME_INDUSTRY.value,
                                         "strength": strength,
                                         "details": {"industry": industry}}
        ids_by_ticker = {str(c.ticker): int(c.id) for c in companies}
        for left, right, strength in EXPLICIT_PAIRS:
            if left not in ids_by_ticker or right not in ids_by_ticker:
                continue
            a, b = ids_by_ticker[left], ids_by_ticker[right]
            for key in ((a, b), (b, a)):
                current = pairs.get(key)
                if current is None or float(cast(float, current["strength"])) <= strength:
                    pairs[key] = {"kind": RelationshipKind.EXPLICIT.value, "strength": strength,
                                  "details": {"pair": [left, right]}}
        rows = [{"company_id": a, "competitor_id": b, **values, "created_at": now,
                 "updated_at": now} for (a, b), values in sorted(pairs.items())]
        for start in range(0, len(rows), 2000):
            upsert_rows(conn, _RELATIONSHIPS, rows[start:start + 2000],
                        ["company_id", "competitor_id"],
                        update=["kind", "strength", "details", "updated_at"])
    return len(rows)
