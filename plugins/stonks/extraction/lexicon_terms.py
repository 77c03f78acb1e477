"""The project's own finance lexicon: polarity words, modifiers and event cues.

Written for this project from how market news is phrased (not derived from any published
dictionary). Weights are in [-1, 1]; modifiers multiply the weight of the next polar word.
Changing any entry changes ``LEXICON_VERSION`` and therefore the prompt hash of the
lexicon variant, so stored signals always say which lexicon produced them.
"""

from __future__ import annotations

import hashlib
import json
import re

POLARITY: dict[str, float] = {
    # Results and prices going up.
    "beat": 0.8, "beats": 0.8, "topped": 0.7, "tops": 0.7, "exceeded": 0.7, "exceeds": 0.7,
    "surge": 0.8, "surged": 0.8, "surges": 0.8, "soar": 0.9, "soared": 0.9, "soars": 0.9,
    "jump": 0.6, "jumped": 0.6, "jumps": 0.6, "rally": 0.6, "rallied": 0.6, "rallies": 0.6,
    "gain": 0.4, "gains": 0.4, "gained": 0.4, "rose": 0.5, "rise": 0.4, "rises": 0.4,
    "climb": 0.5, "climbed": 0.5, "climbs": 0.5, "grew": 0.5, "grow": 0.4, "grows": 0.4,
    "growth": 0.4, "record": 0.6, "blowout": 0.9, "strong": 0.6, "stronger": 0.6,
    "strongest": 0.7, "robust": 0.6, "solid": 0.5, "firm": 0.3, "upbeat": 0.6,
    "optimistic": 0.5, "improve": 0.4, "improved": 0.5, "improves": 0.4, "improvement": 0.4,
    "recover": 0.4, "recovered": 0.5, "recovery": 0.4, "rebound": 0.5, "rebounded": 0.5,
    "expand": 0.4, "expanded": 0.4, "expansion": 0.3, "boost": 0.5, "boosted": 0.5,
    "lift": 0.4, "lifted": 0.5, "raise": 0.4, "raised": 0.5, "raises": 0.4,
    "upgrade": 0.7, "upgraded": 0.7, "outperform": 0.6, "outperformed": 0.6,
    "profit": 0.2, "profitable": 0.4, "win": 0.5, "wins": 0.5, "won": 0.5,
    "approval": 0.5, "approved": 0.5, "breakthrough": 0.6, "standout": 0.5,
    "paying": 0.2, "stabilising": 0.3, "stabilizing": 0.3, "exceed": 0.6, "above": 0.3,
    "better": 0.4, "accelerate": 0.4, "accelerated": 0.4, "momentum": 0.3, "demand": 0.1,
    # Results and prices going down, and trouble.
    "miss": -0.8, "missed": -0.8, "misses": -0.8, "fell": -0.5, "fall": -0.4, "falls": -0.4,
    "drop": -0.5, "dropped": -0.5, "drops": -0.5, "plunge": -0.9, "plunged": -0.9,
    "plunges": -0.9, "slump": -0.7, "slumped": -0.7, "slumps": -0.7, "tumble": -0.8,
    "tumbled": -0.8, "decline": -0.5, "declined": -0.5, "declines": -0.5, "slip": -0.3,
    "slipped": -0.3, "slips": -0.3, "sank": -0.7, "sink": -0.6, "lower": -0.3,
    "lowered": -0.5, "cut": -0.5, "cuts": -0.5, "slash": -0.7, "slashed": -0.7,
    "weak": -0.6, "weaker": -0.6, "weakest": -0.7, "weakness": -0.6, "soft": -0.3,
    "loss": -0.5, "losses": -0.5, "lost": -0.4, "lawsuit": -0.6, "sued": -0.6, "sues": -0.6,
    "probe": -0.5, "investigation": -0.5, "recall": -0.7, "recalled": -0.7, "recalls": -0.7,
    "downgrade": -0.7, "downgraded": -0.7, "underperform": -0.6, "warn": -0.6,
    "warned": -0.6, "warns": -0.6, "warning": -0.6, "below": -0.3, "shrink": -0.4,
    "shrinks": -0.4, "shrank": -0.4, "shrinking": -0.4, "layoffs": -0.5, "fine": -0.2,
    "fined": -0.6, "penalty": -0.6, "default": -0.8, "bankruptcy": -1.0, "bankrupt": -1.0,
    "concern": -0.4, "concerns": -0.4, "uncertainty": -0.4, "disappoint": -0.6,
    "disappointed": -0.6, "disappointing": -0.7, "lagged": -0.4, "lag": -0.3, "lags": -0.3,
    "hurt": -0.5, "hurts": -0.5, "pressure": -0.3, "weighed": -0.4, "weigh": -0.3,
    "weighs": -0.3, "elevated": -0.3, "halt": -0.5, "halted": -0.5, "delay": -0.4,
    "delayed": -0.4, "attack": -0.5, "exit": -0.3, "worse": -0.5, "fraud": -0.9,
    "shortfall": -0.6, "impairment": -0.6, "writedown": -0.6, "competition": -0.2,
    "downturn": -0.5, "slowdown": -0.5, "barbs": -0.1, "failed": -0.5, "fails": -0.5,
}

#: Words that flip the polarity of a polar word within the next few tokens.
NEGATORS = frozenset({
    "not", "no", "never", "without", "neither", "nor", "hardly", "barely", "didn't",
    "doesn't", "don't", "isn't", "wasn't", "aren't", "weren't", "won't", "cannot", "can't",
    "avoided", "avoids", "denied", "denies",
})
NEGATION_WINDOW = 3
#: A negated word counts for less than a plain one ("not bad" is weaker than "good").
NEGATION_DAMPING = 0.7

#: Modifiers that scale the nearest polar word (before it, or right after it).
INTENSIFIERS: dict[str, float] = {
    "sharply": 1.5, "significantly": 1.4, "substantially": 1.4, "strongly": 1.4,
    "steeply": 1.5, "dramatically": 1.6, "very": 1.3, "much": 1.3, "well": 1.3, "far": 1.3,
    "hugely": 1.5, "massively": 1.6, "most": 1.2, "highly": 1.3, "deeply": 1.4,
    "slightly": 0.5, "marginally": 0.5, "modestly": 0.6, "somewhat": 0.6, "mildly": 0.6,
    "little": 0.6, "partly": 0.7,
}

#: Event cues: (event type, polarity, pattern). A negator just before a cue flips it to
#: the opposite event where one exists ("did not beat estimates" is a miss).
EVENT_CUES: tuple[tuple[str, float, str], ...] = (
    ("earnings_beat", 0.6,
     r"\b(beat|beats|topped|tops|top|exceed\w*|above|ahead of)\b[^.;]{0,40}?"
     r"\b(estimates?|expectations|forecasts?|consensus|views?)\b|\bbetter than expected\b"),
    ("earnings_miss", -0.6,
     r"\b(miss|missed|misses|fell short of|short of|below)\b[^.;]{0,40}?"
     r"\b(estimates?|expectations|forecasts?|consensus|views?)\b|\bworse than expected\b"),
    ("guidance_raised", 0.5,
     r"\b(rais\w*|lift\w*|boost\w*|increas\w*|up\w*)\b[^.;]{0,40}?\b(outlook|forecast|"
     r"guidance)\b"),
    ("guidance_cut", -0.5,
     r"\b(cut\w*|lower\w*|reduc\w*|slash\w*|trim\w*)\b[^.;]{0,40}?\b(outlook|forecast|"
     r"guidance)\b"),
    ("upgrade", 0.5,
     r"\bupgrad\w*\b|\b(rais\w*|lift\w*) [^.;]{0,20}?price targets?\b|\btop pick\b"),
    ("downgrade", -0.5,
     r"\bdowngrad\w*\b|\b(cut\w*|lower\w*) [^.;]{0,20}?price targets?\b"),
    ("merger_acquisition", 0.1,
     r"\b(acquir\w*|acquisition|merger|merge|takeover|buyout|agreed to buy|to buy|"
     r"all-stock deal|tender offer)\b"),
    ("litigation", -0.4,
     r"\b(lawsuit|sued|sues|litigation|class action|antitrust|probe|investigation|"
     r"subpoena|indict\w*)\b"),
    ("recall", -0.5, r"\brecall\w*\b"),
    ("product_launch", 0.2, r"\b(launch\w*|unveil\w*|introduc\w*|refresh\w*|showed new)\b"),
    ("layoffs", -0.2, r"\b(layoffs?|job cuts|lay off|cut [\d,]+ jobs)\b"),
    ("dividend_change", 0.2, r"\bdividends?\b"),
    ("buyback", 0.4, r"\b(buyback|repurchase\w*)\b"),
    ("management_change", -0.1,
     r"\b(ceo|chief executive|cfo|chief financial officer)\b[^.;]{0,30}?"
     r"\b(resign\w*|step\w* down|depart\w*|ousted|named|appointed)\b"),
    ("regulatory", -0.1, r"\b(fda|regulators?|regulatory|sec charges|health care reform)\b"),
    ("contract_win", 0.4, r"\b(wins?|won|awarded|secures?|secured)\b[^.;]{0,30}?\bcontracts?\b"),
    ("market_share", 0.2, r"\bmarket share\b"),
)
OPPOSITE_EVENTS = {
    "earnings_beat": "earnings_miss", "earnings_miss": "earnings_beat",
    "guidance_raised": "guidance_cut", "guidance_cut": "guidance_raised",
    "upgrade": "downgrade", "downgrade": "upgrade",
}
#: How long an event type tends to matter for the stock.
EVENT_HORIZONS = {
    "merger_acquisition": "medium", "litigation": "medium", "regulatory": "medium",
    "product_launch": "medium", "management_change": "medium", "market_share": "long",
    "recall": "short", "earnings_beat": "short", "earnings_miss": "short",
}

COMPILED_CUES = tuple((kind, weight, re.compile(pattern, re.IGNORECASE))
                      for kind, weight, pattern in EVENT_CUES)


def _version() -> str:
    payload = json.dumps([POLARITY, sorted(NEGATORS), INTENSIFIERS, EVENT_CUES,
                          NEGATION_WINDOW, NEGATION_DAMPING], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


#: sha256 of everything above: the "prompt hash" of the lexicon extractor.
LEXICON_VERSION = _version()
LEXICON_MODEL = "lexicon-v1"
