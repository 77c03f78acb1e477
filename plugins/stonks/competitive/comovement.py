"""The co-movement pattern matcher: how two companies' past signals moved together.

For a source and a competitor it buckets both companies' company-layer signals by day
(signed strength = direction * magnitude * confidence) over a lookback window that ends
strictly before the signal being propagated, and correlates the days on which both had
news. Positive correlation means read-through (they move together), negative means a
zero-sum rivalry. Fewer than ``MIN_OVERLAP`` shared days gives no pattern.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from stonks.db.conflict import table_of
from stonks.models import DocumentImpactRecord

_IMPACTS = table_of(DocumentImpactRecord)
LOOKBACK = timedelta(days=180)
MIN_OVERLAP = 3
SIGN = {"bullish": 1.0, "bearish": -1.0, "neutral": 0.0}


@dataclass(frozen=True)
class CoMovement:
    correlation: float
    overlap_days: int


def correlation(pairs: list[tuple[float, float]]) -> float | None:
    """Pearson correlation of paired values; None when either side does not vary."""
    n = len(pairs)
    if n < 2:
        return None
    mx = sum(x for x, _ in pairs) / n
    my = sum(y for _, y in pairs) / n
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    if sxx <= 1e-12 or syy <= 1e-12:
        # Both always in the same (or opposite) direction: a perfect match by sign.
        same = [math.copysign(1, x) == math.copysign(1, y) for x, y in pairs if x and y]
        if len(same) >= 2 and (all(same) or not any(same)):
            return 1.0 if all(same) else -1.0
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def daily_strengths(rows: Iterable[tuple[str, str, float, float, datetime]]
                    ) -> dict[str, dict[str, float]]:
    """ticker → ISO day → summed signed strength."""
    days: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for ticker, direction, magnitude, confidence, published_at in rows:
        days[ticker][published_at.date().isoformat()] += SIGN[direction] * magnitude * confidence
    return days


def match_patterns(conn: sa.Connection, source: str, targets: list[str], before: datetime
                   ) -> dict[str, CoMovement]:
    """Co-movement of ``source`` with each target from signals published before ``before``."""
    query = (sa.select(_IMPACTS.c.ticker, _IMPACTS.c.direction, _IMPACTS.c.magnitude,
                       _IMPACTS.c.confidence, _IMPACTS.c.published_at)
             .where(_IMPACTS.c.ticker.in_([source, *targets]),
                    _IMPACTS.c.published_at < before,
                    _IMPACTS.c.published_at >= before - LOOKBACK))
    rows = [(str(r[0]), str(r[1]), float(r[2]), float(r[3]), r[4]) for r in conn.execute(query)]
    days = daily_strengths(rows)
    mine = days.get(source, {})
    patterns: dict[str, CoMovement] = {}
    for target in targets:
        theirs = days.get(target, {})
        shared = sorted(set(mine) & set(theirs))
        if len(shared) < MIN_OVERLAP:
            continue
        value = correlation([(mine[d], theirs[d]) for d in shared])
        if value is not None:
            patterns[target] = CoMovement(round(value, 6), len(shared))
    return patterns
