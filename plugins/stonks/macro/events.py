"""The rule-based event classifier: the embedded default of the event-classifier agent.

Each rule recognises one kind of macro or geopolitical event and states its channel
shocks: the direction for risk assets, a rate shock, commodity price shocks and the sectors
it hits first. Interpolation through exposure profiles turns those shocks into per-company
impacts. Same output schema as the LLM path (:class:`EventClassification`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field

from stonks.extraction.lexicon import split_sentences
from stonks.extraction.schemas import EventClassification, MacroEvent
from stonks.models.enums import Direction

MACRO_RULES_MODEL = "macro-rules-v1"


@dataclass(frozen=True)
class EventRule:
    event_type: str
    pattern: str
    direction: Direction
    severity: float
    rate_shock: float = 0.0
    commodity_shocks: dict[str, float] = field(default_factory=dict)
    sectors: tuple[str, ...] = ()


RULES: tuple[EventRule, ...] = (
    EventRule("rate_hike", r"\b(rais\w*|hik\w*|increas\w*) (its |the )?(benchmark |key |"
              r"interest )*rates?\b|\brate (hike|increase)", Direction.BEARISH, 0.7, 0.8,
              sectors=("Financials", "Utilities")),
    EventRule("rate_cut", r"\b(cut\w*|lower\w*|slash\w*) (its |the )?(benchmark |key |"
              r"interest )*rates?\b|\brate cut", Direction.BULLISH, 0.7, -0.8,
              sectors=("Financials", "Utilities")),
    EventRule("rate_hold", r"\b(holds?|kept|keeps|leaves?|left) (its )?(benchmark )?"
              r"rates?\b|\brates? (near|at) zero\b", Direction.BULLISH, 0.3, -0.2),
    EventRule("policy_tightening", r"\b(tighten\w*|slow\w* lending|curb\w* lending)\b",
              Direction.BEARISH, 0.5, 0.3, {"copper": -0.5, "oil": -0.3},
              ("Materials", "Energy", "Industrials")),
    EventRule("jobs_weak", r"\b(cut \d[\d,]* jobs|jobless rate (rose|climb\w*)|unemployment "
              r"rate (rose|climb\w*|climbs|reached)|payrolls (fell|fall|drop\w*))\b",
              Direction.BEARISH, 0.5, -0.2, sectors=("Consumer Discretionary",)),
    EventRule("jobs_strong", r"\b(adds? [\d,]+ jobs|payrolls rose|hiring (picked up|rose))\b",
              Direction.BULLISH, 0.5, 0.2, sectors=("Consumer Discretionary", "Industrials")),
    EventRule("gdp_growth", r"\b(gdp|gross domestic product|economy)\b[^.]{0,40}"
              r"\b(grew|grows|returns? to growth|expand\w*)\b|\bgdp grows\b",
              Direction.BULLISH, 0.5, 0.2, sectors=("Industrials", "Consumer Discretionary")),
    EventRule("recession", r"\b(recession|contraction|economy shrank|gdp (fell|shrank))\b",
              Direction.BEARISH, 0.6, -0.4, sectors=("Consumer Discretionary", "Financials")),
    EventRule("housing_weak", r"\bhome sales (drop|fall|fell|slump)\w*|\bhousing starts fell\b",
              Direction.BEARISH, 0.4, -0.1, sectors=("Financials", "Consumer Discretionary")),
    EventRule("inflation", r"\b(inflation|consumer prices?)\b[^.]{0,30}\b(rose|rises|jump\w*|"
              r"accelerat\w*|surge\w*)\b", Direction.BEARISH, 0.6, 0.6),
    EventRule("sovereign_debt", r"\b(sovereign debt|deficit widens|debt crisis|bailout|"
              r"cuts? [a-z]+ (outlook|rating))\b", Direction.BEARISH, 0.6, -0.2,
              sectors=("Financials",)),
    EventRule("sanctions", r"\bsanctions?\b", Direction.BEARISH, 0.5,
              commodity_shocks={"oil": 0.4}, sectors=("Energy",)),
    EventRule("tariffs", r"\b(tariffs?|trade war)\b", Direction.BEARISH, 0.5,
              sectors=("Industrials", "Information Technology", "Materials")),
    EventRule("conflict", r"\b(war|invasion|military strike|attack on)\b", Direction.BEARISH,
              0.6, commodity_shocks={"oil": 0.5, "gold": 0.4}, sectors=("Energy", "Industrials")),
    EventRule("supply_shock", r"\b(rig explosion|oil spill|pipeline (shut|outage)|refinery "
              r"(fire|outage)|opec cuts?)\b", Direction.BEARISH, 0.6,
              commodity_shocks={"oil": 0.6}, sectors=("Energy",)),
    EventRule("stimulus", r"\b(stimulus|jobs bill|spending package|tax credit)\b",
              Direction.BULLISH, 0.4, 0.1, sectors=("Industrials", "Consumer Discretionary")),
    EventRule("fiscal_tightening", r"\b(spending freeze|austerity|budget cuts)\b",
              Direction.BEARISH, 0.3, -0.1, sectors=("Industrials", "Health Care")),
)
_COMPILED = tuple((rule, re.compile(rule.pattern, re.IGNORECASE)) for rule in RULES)
REGIONS: tuple[tuple[str, str], ...] = (
    ("us", r"\b(us|u\.s\.|united states|federal reserve|fed|american|payrolls|president)\b"),
    ("europe", r"\b(euro area|eurozone|europe\w*|ecb|greece|greek|germany|france|spain|uk)\b"),
    ("china", r"\b(china|chinese|beijing|pboc)\b"),
    ("japan", r"\b(japan\w*|boj|tokyo)\b"),
    ("middle_east", r"\b(iran|iraq|saudi|opec|middle east|israel)\b"),
)
#: sha256 of the rules and regions: the "prompt hash" of the rules variant.
MACRO_RULES_VERSION = hashlib.sha256(repr(([asdict(r) for r in RULES], REGIONS)).encode()
                                     ).hexdigest()
_REGIONS = tuple((name, re.compile(p, re.IGNORECASE)) for name, p in REGIONS)
#: Intensity words that raise an event's severity.
_SEVERE = re.compile(r"\b(sharply|highest|fastest|record|crisis|plunge\w*|most in|"
                     r"biggest|explosion)\b", re.IGNORECASE)


def detect_region(text: str) -> str:
    hits = [name for name, pattern in _REGIONS if pattern.search(text)]
    # US hits from generic words ("president") lose to a named foreign region.
    foreign = [h for h in hits if h != "us"]
    return foreign[0] if foreign else (hits[0] if hits else "global")


def classify_events(text: str, title: str | None = None) -> EventClassification:
    """Macro events in a document by rule; one event per type, strongest mention wins."""
    events: dict[str, MacroEvent] = {}
    region = detect_region(text)
    for sentence in split_sentences(text):
        for rule, pattern in _COMPILED:
            if rule.event_type in events or not pattern.search(sentence):
                continue
            severity = min(1.0, rule.severity + (0.2 if _SEVERE.search(sentence) else 0.0))
            events[rule.event_type] = MacroEvent(
                event_type=rule.event_type, title=(title or sentence)[:500], region=region,
                direction=rule.direction, severity=round(severity, 4), confidence=0.6,
                affected_sectors=list(rule.sectors),
                affected_commodities=sorted(rule.commodity_shocks),
                rate_shock=rule.rate_shock, commodity_shocks=dict(rule.commodity_shocks),
            )
    # "Holds rates" also matches the cut/hike patterns' neighbours; a hold wins over both.
    if "rate_hold" in events:
        events.pop("rate_cut", None)
        events.pop("rate_hike", None)
    summary = (title or " ".join(split_sentences(text)[:1]))[:500]
    return EventClassification(summary=summary, events=[events[k] for k in sorted(events)])
