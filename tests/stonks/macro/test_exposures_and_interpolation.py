"""Exposure profiles, event classification and interpolation on constructed cases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.config import load_settings
from stonks.ingestion.companies import seed_companies
from stonks.macro.events import classify_events, detect_region
from stonks.macro.exposures import ensure_exposure_profiles, seed_profile
from stonks.macro.interpolation import MARKET_BETA, EventShock, Exposure, interpolate
from stonks.models.enums import Direction

BANK = Exposure("Financials", {"us": 0.8, "europe": 0.2}, {"Financials": 1.0}, {}, 0.5)
UTILITY = Exposure("Utilities", {"us": 1.0}, {"Utilities": 1.0}, {"natural_gas": -0.3}, -0.6)
OIL = Exposure("Energy", {"us": 0.55, "europe": 0.2, "middle_east": 0.25}, {"Energy": 1.0},
               {"oil": 0.8}, 0.0)
AIRLINE = Exposure("Industrials", {"us": 0.9, "europe": 0.1}, {"Industrials": 1.0},
                   {"oil": -0.9}, -0.2)


def test_a_rate_hike_helps_banks_and_hurts_utilities() -> None:
    hike = EventShock(Direction.BEARISH, 0.5, 0.8, "us", (), rate_shock=1.0)
    bank, utility = interpolate(hike, BANK), interpolate(hike, UTILITY)
    # bank: market -0.3 + rate +0.5 = +0.2, scaled by its US share relative to its largest.
    assert bank.exposure_score == pytest.approx(0.2)
    assert bank.direction is Direction.BULLISH and bank.magnitude == pytest.approx(0.1)
    assert utility.exposure_score == pytest.approx(-0.9)
    assert utility.direction is Direction.BEARISH and utility.magnitude == pytest.approx(0.45)
    assert utility.components["rate"] == pytest.approx(-0.6)
    assert utility.components["market"] == pytest.approx(-MARKET_BETA)


def test_an_oil_shock_splits_producers_and_consumers() -> None:
    shock = EventShock(Direction.BEARISH, 1.0, 1.0, "global", ("Energy",),
                       commodity_shocks=(("oil", 1.0),))
    producer, airline = interpolate(shock, OIL), interpolate(shock, AIRLINE)
    # producer: market -0.3, sector -0.6, commodity +0.8 -> -0.1
    assert producer.exposure_score == pytest.approx(-0.1)
    # airline: market -0.3, commodity -0.9 -> -1.2, clipped to -1
    assert airline.exposure_score == -1.0 and airline.magnitude == 1.0


def test_a_regional_event_is_scaled_by_exposure_to_the_region() -> None:
    crisis = EventShock(Direction.BEARISH, 1.0, 1.0, "europe", ("Financials",))
    bank = interpolate(crisis, BANK)
    # (market -0.3 + sector -0.6) * (0.2 / 0.8)
    assert bank.components["region_weight"] == pytest.approx(0.25)
    assert bank.exposure_score == pytest.approx(-0.225)
    domestic = interpolate(crisis, UTILITY)  # no European business: the floor weight
    assert domestic.components["region_weight"] == pytest.approx(0.15)


def test_a_negligible_exposure_is_neutral() -> None:
    hold = EventShock(Direction.NEUTRAL, 0.3, 0.6, "us", (), rate_shock=0.05)
    impact = interpolate(hold, BANK)
    assert impact.direction is Direction.NEUTRAL and impact.magnitude < 0.02


def test_seeded_profiles_follow_sector_and_industry() -> None:
    assert seed_profile("Financials", "Banks")["rate_sensitivity"] == 0.5
    assert seed_profile("Financials", "REITs")["rate_sensitivity"] == -0.7
    assert seed_profile("Industrials", "Airlines")["commodity_sensitivities"]["oil"] == -0.9
    energy = seed_profile("Energy", "Integrated Oil & Gas")
    assert energy["commodity_sensitivities"]["oil"] > 0
    assert sum(energy["region_exposures"].values()) == pytest.approx(1.0)


def test_profiles_are_seeded_for_the_universe_and_manual_ones_are_kept(
        sqlite_engine: Engine) -> None:
    seed_companies(sqlite_engine, load_settings().tracked_tickers)
    ensure_exposure_profiles(sqlite_engine)
    with sqlite_engine.begin() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM exposure_profiles")).scalar_one()
        companies = conn.execute(sa.text("SELECT count(*) FROM companies")).scalar_one()
        assert total == companies > 400
        conn.execute(sa.text("UPDATE exposure_profiles SET rate_sensitivity = 0.9, "
                             "source = 'manual' WHERE company_id = (SELECT id FROM companies "
                             "WHERE ticker = 'JPM')"))
    ensure_exposure_profiles(sqlite_engine)
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT p.rate_sensitivity FROM exposure_profiles p JOIN companies c ON "
            "c.id = p.company_id WHERE c.ticker = 'JPM'")).scalar_one() == 0.9


@pytest.mark.parametrize(("text", "event_type", "direction", "region"), [
    ("The Federal Reserve raised its benchmark rate by a quarter point.", "rate_hike",
     Direction.BEARISH, "us"),
    ("Fed holds rates near zero.", "rate_hold", Direction.BULLISH, "us"),
    ("Rating agency cuts Greece outlook as deficit widens.", "sovereign_debt",
     Direction.BEARISH, "europe"),
    ("China tightens bank lending to cool growth.", "policy_tightening", Direction.BEARISH,
     "china"),
    ("Oil rig explosion in the Gulf of Mexico.", "supply_shock", Direction.BEARISH,
     "global"),
])
def test_the_rules_classify_macro_events(text: str, event_type: str, direction: Direction,
                                         region: str) -> None:
    events = {e.event_type: e for e in classify_events(text).events}
    assert event_type in events
    assert events[event_type].direction is direction and events[event_type].region == region
    assert detect_region(text) == region
