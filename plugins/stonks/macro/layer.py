"""Layer 2 writer: ``global_events`` of a document and their ``macro_impact_records``.

Every tracked company gets one record per event (neutral when its exposure is negligible),
stamped with the document's published time. Re-classifying a document replaces its events
and their impacts, so a replay leaves the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from stonks.db.conflict import table_of
from stonks.extraction.agents import VariantConfig
from stonks.extraction.schemas import EventClassification
from stonks.extraction.upserts import upsert_rows
from stonks.macro.interpolation import EventShock, Exposure, interpolate
from stonks.models import Company, ExposureProfile, GlobalEvent, MacroImpactRecord
from stonks.models.enums import Horizon
from stonks.models.types import utcnow

_EVENTS = table_of(GlobalEvent)
_IMPACTS = table_of(MacroImpactRecord)
_PROFILES = table_of(ExposureProfile)
_COMPANIES = table_of(Company)
#: Macro events play out over weeks, not hours.
MACRO_HORIZON = Horizon.MEDIUM


@dataclass(frozen=True)
class TrackedExposure:
    company_id: int
    ticker: str
    exposure: Exposure


def tracked_exposures(conn: sa.Connection) -> list[TrackedExposure]:
    """Exposure profiles of every tracked, active company, by ticker."""
    rows = conn.execute(
        sa.select(_COMPANIES.c.id, _COMPANIES.c.ticker, _PROFILES)
        .join(_PROFILES, _PROFILES.c.company_id == _COMPANIES.c.id)
        .where(_COMPANIES.c.tracked.is_(True), _COMPANIES.c.active.is_(True))
        .order_by(_COMPANIES.c.ticker)).all()
    return [TrackedExposure(int(r.company_id), str(r.ticker), Exposure(
        sector=r.sector, region_exposures=dict(r.region_exposures or {}),
        sector_sensitivities=dict(r.sector_sensitivities or {}),
        commodity_sensitivities=dict(r.commodity_sensitivities or {}),
        rate_sensitivity=float(r.rate_sensitivity))) for r in rows]


def write_macro_layer(conn: sa.Connection, *, document_id: int, published_at: datetime,
                      classification: EventClassification, variant: VariantConfig,
                      companies: list[TrackedExposure]) -> list[str]:
    """Store a document's events and their impacts; returns the tickers with records."""
    now = utcnow()
    events = {(e.event_type, e.region or "global"): e for e in classification.events}
    keep = [sa.and_(_EVENTS.c.event_type == t, _EVENTS.c.region == r) for t, r in events]
    stale = sa.delete(_EVENTS).where(_EVENTS.c.document_id == document_id)
    conn.execute(stale.where(~sa.or_(*keep)) if keep else stale)
    upsert_rows(conn, _EVENTS, [{
        "document_id": document_id, "event_type": t, "title": e.title or t,
        "summary": classification.summary, "region": r, "direction": e.direction.value,
        "severity": e.severity, "confidence": e.confidence,
        "affected_sectors": e.affected_sectors, "affected_commodities": e.affected_commodities,
        "affected_regions": [r], "occurred_at": published_at, "published_at": published_at,
        "output": e.model_dump(mode="json"), "agent_variant_id": variant.variant_id,
        "model_name": variant.model_name, "prompt_hash": variant.prompt_hash,
        "created_at": now, "updated_at": now,
    } for (t, r), e in sorted(events.items())], ["document_id", "event_type", "region"],
        update=["title", "summary", "direction", "severity", "confidence", "affected_sectors",
                "affected_commodities", "affected_regions", "occurred_at", "published_at",
                "output", "agent_variant_id", "model_name", "prompt_hash", "updated_at"])
    stored = conn.execute(sa.select(_EVENTS.c.id, _EVENTS.c.event_type, _EVENTS.c.region)
                          .where(_EVENTS.c.document_id == document_id)).all()
    rows = []
    for event_id, event_type, region in stored:
        event = events[(event_type, region)]
        shock = EventShock(event.direction, event.severity, event.confidence, region,
                           tuple(event.affected_sectors), event.rate_shock,
                           tuple(sorted(event.commodity_shocks.items())))
        for company in companies:
            impact = interpolate(shock, company.exposure)
            rows.append({
                "event_id": event_id, "company_id": company.company_id,
                "ticker": company.ticker, "direction": impact.direction.value,
                "magnitude": impact.magnitude, "confidence": impact.confidence,
                "horizon": MACRO_HORIZON.value, "published_at": published_at,
                "exposure_score": impact.exposure_score, "components": impact.components,
                "created_at": now, "updated_at": now,
            })
    event_ids = [int(e.id) for e in stored]
    if event_ids:
        conn.execute(sa.delete(_IMPACTS).where(_IMPACTS.c.event_id.in_(event_ids)))
    if rows:
        conn.execute(sa.insert(_IMPACTS), rows)
    return sorted({str(r["ticker"]) for r in rows})
