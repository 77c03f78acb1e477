"""Exposure profiles: how sensitive each company is to sectors, regions, commodities, rates.

Seeded from the universe's sector and industry (``source='seed'``); rows edited by hand
(``source='manual'``) are never overwritten. The numbers are the desk's starting priors:
banks earn more when rates rise, utilities and REITs behave like bonds, producers gain when
their commodity rises and heavy users of it lose, multinationals carry foreign exposure.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.db.conflict import table_of
from stonks.extraction.upserts import upsert_rows
from stonks.models import Company, ExposureProfile
from stonks.models.types import utcnow

_PROFILES = table_of(ExposureProfile)
_COMPANIES = table_of(Company)

SECTOR_RATE_SENSITIVITY = {
    "Financials": 0.4, "Utilities": -0.6, "Information Technology": -0.3,
    "Consumer Discretionary": -0.4, "Telecommunications Services": -0.4,
    "Health Care": -0.1, "Consumer Staples": -0.2, "Industrials": -0.2, "Materials": -0.1,
    "Energy": 0.0,
}
SECTOR_COMMODITIES: dict[str, dict[str, float]] = {
    "Energy": {"oil": 0.8, "natural_gas": 0.5},
    "Materials": {"copper": 0.6, "gold": 0.3, "oil": -0.2},
    "Industrials": {"oil": -0.3, "copper": -0.2},
    "Consumer Discretionary": {"oil": -0.3},
    "Utilities": {"natural_gas": -0.3},
    "Consumer Staples": {"oil": -0.1},
}
INDUSTRY_OVERRIDES: dict[str, dict[str, Any]] = {
    "Airlines": {"commodities": {"oil": -0.9}},
    "REITs": {"rate": -0.7},
    "Banks": {"rate": 0.5},
    "Gold": {"commodities": {"gold": 0.9}},
    "Oil & Gas Refining & Marketing": {"commodities": {"oil": -0.3}},
}
#: Share of revenue outside the US by sector (a multinational prior).
SECTOR_FOREIGN_SHARE = {
    "Information Technology": 0.5, "Energy": 0.45, "Materials": 0.45, "Industrials": 0.4,
    "Consumer Staples": 0.4, "Health Care": 0.35, "Consumer Discretionary": 0.25,
    "Financials": 0.2, "Utilities": 0.02, "Telecommunications Services": 0.05,
}
FOREIGN_SPLIT = {"europe": 0.45, "china": 0.25, "japan": 0.15, "middle_east": 0.15}


def seed_profile(sector: str | None, industry: str | None) -> dict[str, Any]:
    """The seeded exposure of a company of ``sector``/``industry``."""
    sector = sector or ""
    override = INDUSTRY_OVERRIDES.get(industry or "", {})
    commodities = dict(SECTOR_COMMODITIES.get(sector, {}))
    commodities.update(override.get("commodities", {}))
    foreign = SECTOR_FOREIGN_SHARE.get(sector, 0.2)
    regions = {"us": round(1 - foreign, 4)}
    regions.update({r: round(foreign * share, 4) for r, share in FOREIGN_SPLIT.items()})
    return {
        "sector": sector or None, "industry": industry, "home_region": "us",
        "region_exposures": regions, "sector_sensitivities": {sector: 1.0} if sector else {},
        "commodity_sensitivities": commodities,
        "rate_sensitivity": float(override.get("rate", SECTOR_RATE_SENSITIVITY.get(sector, 0.0))),
        "fx_sensitivity": round(-foreign, 4), "source": "seed",
    }


def ensure_exposure_profiles(engine: Engine) -> int:
    """Seed a profile for every company that has none (or only a seeded one); returns count."""
    now = utcnow()
    with engine.begin() as conn:
        manual = set(conn.execute(sa.select(_PROFILES.c.company_id)
                                  .where(_PROFILES.c.source != "seed")).scalars())
        companies = conn.execute(sa.select(_COMPANIES.c.id, _COMPANIES.c.sector,
                                           _COMPANIES.c.industry)).all()
        rows = [{"company_id": c.id, **seed_profile(c.sector, c.industry),
                 "created_at": now, "updated_at": now}
                for c in companies if c.id not in manual]
        columns = ["sector", "industry", "region_exposures", "sector_sensitivities",
                   "commodity_sensitivities", "rate_sensitivity", "fx_sensitivity"]
        existing = set(conn.execute(sa.select(_PROFILES.c.company_id)).scalars())
        upsert_rows(conn, _PROFILES, [r for r in rows if r["company_id"] not in existing],
                    ["company_id"], update=columns)
    return len(rows)
