"""Seeding ``companies`` and ``company_aliases`` from the bundled universe.

Each company gets its ticker and the names it appears under in text (the listed name without
legal suffixes, plus well-known short names). Short tickers and tickers or names that are
ordinary words (A, ALL, KEY, "Target", "Gap") are flagged ``ambiguous``: mention detection
only counts them with context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.db.conflict import table_of
from stonks.ingestion.store import upsert
from stonks.models import Company, CompanyAlias
from stonks.models.sources import AliasKind
from stonks.models.types import utcnow
from stonks.sample_data.filings import CIKS
from stonks.universe import load_universe

_COMPANIES = table_of(Company)
_ALIASES = table_of(CompanyAlias)

#: Tickers that are also everyday English words in capitals (headlines, acronyms).
COMMON_WORD_TICKERS = frozenset({
    "ALL", "KEY", "LOW", "HAS", "CAN", "ARE", "IT", "ON", "BIG", "CAT", "HOG", "PAY", "FAST",
    "LIFE", "LUV", "MAN", "NOW", "ONE", "SEE", "TWO", "WIN", "AIR", "CAR", "DISH", "GAS",
    "HOT", "JOY", "PLL", "SUN", "TEL", "BBY", "EYE", "PCG", "HD", "ESS", "BEN", "AN", "MAS",
})
#: Names that are ordinary words when not followed by a corporate suffix.
COMMON_WORD_NAMES = frozenset({
    "target", "gap", "ball", "progressive", "southern", "general", "visa", "apache",
    "staples", "harris", "sun", "allegheny", "coach", "oracle", "key", "loews",
    "ford", "dominion", "ryder", "kellogg", "international",
})
#: Well-known short names the listed names do not contain.
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "AAPL": ("Apple",), "MSFT": ("Microsoft",), "GOOG": ("Google",),
    "AMZN": ("Amazon", "Amazon.com"), "JPM": ("JPMorgan", "JPMorgan Chase", "JP Morgan"),
    "XOM": ("Exxon", "Exxon Mobil", "ExxonMobil"), "JNJ": ("Johnson & Johnson", "J&J"),
    "WMT": ("Wal-Mart", "Walmart"), "GE": ("General Electric", "GE Capital"),
    "IBM": ("International Business Machines", "IBM"), "T": ("AT&T",),
    "VZ": ("Verizon", "Verizon Communications"), "C": ("Citigroup", "Citi"),
    "BAC": ("Bank of America",), "F": ("Ford", "Ford Motor"), "A": ("Agilent",),
    "ALL": ("Allstate",), "GS": ("Goldman Sachs",), "INTC": ("Intel",), "CSCO": ("Cisco",),
    "ORCL": ("Oracle",), "HPQ": ("Hewlett-Packard", "HP"), "KO": ("Coca-Cola",),
    "PG": ("Procter & Gamble",), "CVX": ("Chevron",), "TGT": ("Target",),
}
_SUFFIX = re.compile(
    r"[\s,]+(inc\.?|corp\.?|corporation|co\.?|company|cos\.?|companies|ltd\.?|plc|"
    r"group|holdings?|incorporated|llc|n\.?v\.?|s\.?a\.?)$",
    re.IGNORECASE,
)


def ambiguous_ticker(ticker: str) -> bool:
    """Whether a bare ``ticker`` in text needs context to count as the company."""
    return len(ticker) <= 2 or ticker in COMMON_WORD_TICKERS


def name_aliases(name: str) -> set[str]:
    """The listed name and its forms without legal suffixes or a '(The)'."""
    cleaned = re.sub(r"\s*\(the\)\s*", " ", name, flags=re.IGNORECASE).strip()
    forms = {name.strip(), cleaned}
    current = cleaned
    while True:
        shorter = _SUFFIX.sub("", current).strip(" ,&")
        if shorter == current or not shorter:
            break
        forms.add(shorter)
        current = shorter
    return {f for f in forms if len(f) >= 2}


def seed_companies(engine: Engine, tracked: Iterable[str]) -> int:
    """Upsert every universe company (with CIK where known) and its aliases; returns count."""
    tracked_set = {t.upper() for t in tracked}
    universe = load_universe()
    now = utcnow()
    rows = [
        {"ticker": c.ticker, "name": c.name[:255], "sector": c.sector or None,
         "industry": c.industry or None, "tracked": c.ticker in tracked_set, "active": True,
         "cik": CIKS.get(c.ticker)}
        for c in universe
    ]
    statement = upsert(engine, _COMPANIES).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["ticker"],
        set_={
            "name": statement.excluded.name, "sector": statement.excluded.sector,
            "industry": statement.excluded.industry, "tracked": statement.excluded.tracked,
            "cik": sa.func.coalesce(statement.excluded.cik, _COMPANIES.c.cik),
            "updated_at": now,
        },
    )
    with engine.begin() as conn:
        conn.execute(statement)
        ids = {str(t): int(i) for t, i in conn.execute(
            sa.select(_COMPANIES.c.ticker, _COMPANIES.c.id))}
        alias_rows = []
        for company in universe:
            company_id = ids[company.ticker]
            alias_rows.append({
                "company_id": company_id, "alias": company.ticker.casefold(),
                "kind": AliasKind.TICKER.value, "ambiguous": ambiguous_ticker(company.ticker),
            })
            names = name_aliases(company.name) | set(EXTRA_NAMES.get(company.ticker, ()))
            for alias in sorted(names):
                if alias.upper() == company.ticker:
                    continue
                alias_rows.append({
                    "company_id": company_id, "alias": alias.casefold()[:255],
                    "kind": AliasKind.NAME.value if alias in name_aliases(company.name)
                    else AliasKind.SHORT_NAME.value,
                    "ambiguous": alias.casefold() in COMMON_WORD_NAMES,
                })
        unique = {(r["company_id"], r["alias"]): r for r in alias_rows}
        conn.execute(
            upsert(engine, _ALIASES).values(list(unique.values())).on_conflict_do_nothing(
                index_elements=["company_id", "alias"]
            )
        )
    return len(rows)


def tracked_companies(engine: Engine) -> list[tuple[str, str | None]]:
    """(ticker, cik) of every tracked, active company, by ticker."""
    with engine.connect() as conn:
        result = conn.execute(
            sa.select(_COMPANIES.c.ticker, _COMPANIES.c.cik)
            .where(_COMPANIES.c.tracked.is_(True), _COMPANIES.c.active.is_(True))
            .order_by(_COMPANIES.c.ticker)
        )
        return [(str(t), c) for t, c in result]
