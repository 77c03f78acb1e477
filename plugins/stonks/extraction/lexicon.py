"""The lexicon extractor: the embedded default when no LLM is configured.

Scores each sentence with the project's finance lexicon (negation flips a polar word within
a few tokens, intensifiers scale it), finds event cues, and attributes every scored word
and cue to the company mentioned nearest before it in the same sentence (or right after it
when the sentence starts with the verb). Sentences naming no company belong to the company
the text was last about ("The company said …", "Shares rose …"). The output has the same
schema as the LLM path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from stonks.extraction.lexicon_terms import (
    COMPILED_CUES,
    EVENT_HORIZONS,
    INTENSIFIERS,
    NEGATION_DAMPING,
    NEGATION_WINDOW,
    NEGATORS,
    OPPOSITE_EVENTS,
    POLARITY,
)
from stonks.extraction.schemas import CompanyImpact, DocumentExtraction
from stonks.models.enums import Direction, Horizon

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])|\n+")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'&.-]*[A-Za-z]|[A-Za-z]")
DIRECTION_THRESHOLD = 0.12
#: Weight of a sentence attributed to a company only because the text was about it.
CARRYOVER_WEIGHT = 0.7


@dataclass(frozen=True)
class MentionedCompany:
    """A company parsing found in the document, with the aliases it matched under."""

    ticker: str
    aliases: tuple[str, ...] = ()
    confidence: float = 1.0
    is_primary: bool = False


@dataclass
class _Tally:
    score: float = 0.0
    hits: int = 0
    events: dict[str, float] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScoredTerm:
    """One polar word or event cue, where it is and what it is worth."""

    offset: int
    weight: float
    event: str | None = None


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def _alias_pattern(company: MentionedCompany) -> re.Pattern[str]:
    names = sorted({a for a in company.aliases if len(a) > 1}, key=len, reverse=True)
    parts = [rf"(?i:{re.escape(n)})" for n in names if not n.isupper() or len(n) > 5]
    # Tickers and short acronyms only count in capitals ("IT" is not "it").
    parts += [re.escape(n) for n in {*names, company.ticker} if n.isupper() and len(n) <= 5]
    return re.compile(r"(?<![A-Za-z0-9])(" + "|".join(parts) + r")(?![A-Za-z0-9])")


def score_terms(sentence: str) -> list[ScoredTerm]:
    """Polar words (with negation and intensity) and event cues of one sentence."""
    tokens = [(m.start(), m.group().lower().rstrip(".")) for m in _TOKEN.finditer(sentence)]
    words = [w for _, w in tokens]
    terms: list[ScoredTerm] = []
    for i, (offset, word) in enumerate(tokens):
        weight = POLARITY.get(word)
        if weight is None:
            continue
        before = words[max(0, i - NEGATION_WINDOW):i]
        if any(w in NEGATORS or w.endswith("n't") for w in before):
            weight = -weight * NEGATION_DAMPING
        scale = 1.0
        if i > 0 and words[i - 1] in INTENSIFIERS:
            scale = INTENSIFIERS[words[i - 1]]
        elif i > 1 and words[i - 2] in INTENSIFIERS and words[i - 1] not in POLARITY:
            scale = INTENSIFIERS[words[i - 2]]
        elif i + 1 < len(words) and words[i + 1] in INTENSIFIERS:
            scale = INTENSIFIERS[words[i + 1]]
        terms.append(ScoredTerm(offset, max(-1.0, min(1.0, weight * scale))))
    for kind, weight, pattern in COMPILED_CUES:
        for match in pattern.finditer(sentence):
            preceding = sentence[max(0, match.start() - 30):match.start()].lower().split()
            negated = any(w in NEGATORS or w.endswith("n't")
                          for w in preceding[-NEGATION_WINDOW:])
            event, value = kind, weight
            if negated:
                event, value = OPPOSITE_EVENTS.get(kind, kind), -weight * NEGATION_DAMPING
            terms.append(ScoredTerm(match.start(), value, event))
    return terms


def _owner(offset: int, positions: list[tuple[int, str]]) -> str | None:
    """The company mentioned nearest before ``offset``, else the first one after it."""
    before = [t for p, t in positions if p <= offset]
    if before:
        return before[-1]
    return positions[0][1] if positions else None


class LexiconExtractor:
    """Deterministic sentence-level extraction with the project's finance lexicon."""

    def extract(self, text: str, companies: Sequence[MentionedCompany],
                title: str | None = None) -> DocumentExtraction:
        patterns = {c.ticker: _alias_pattern(c) for c in companies}
        tallies = {c.ticker: _Tally() for c in companies}
        primary = next((c.ticker for c in companies if c.is_primary),
                       companies[0].ticker if companies else None)
        subject = primary
        doc_scores: list[float] = []
        doc_events: dict[str, float] = {}
        for sentence in split_sentences(text):
            positions = sorted((m.start(), t) for t, p in patterns.items()
                               for m in p.finditer(sentence))
            terms = score_terms(sentence)
            if terms:
                doc_scores.append(sum(t.weight for t in terms))
            for term in terms:
                if term.event:
                    doc_events[term.event] = doc_events.get(term.event, 0.0) + term.weight
                owner = _owner(term.offset, positions) if positions else subject
                if owner is None:
                    continue
                tally = tallies[owner]
                weight = term.weight if positions else term.weight * CARRYOVER_WEIGHT
                tally.score += weight
                tally.hits += 1
                if term.event:
                    tally.events[term.event] = tally.events.get(term.event, 0.0) + weight
                if sentence not in tally.evidence and len(tally.evidence) < 5:
                    tally.evidence.append(sentence)
            if positions:
                subject = positions[-1][1] if len({t for _, t in positions}) == 1 else primary
        impacts = [self._impact(c, tallies[c.ticker]) for c in companies]
        sentiment = math.tanh(sum(doc_scores) / 2) if doc_scores else 0.0
        first = split_sentences(text)[:2]
        summary = (title or " ".join(first))[:500]
        confidence = min(0.85, 0.3 + 0.08 * len(doc_scores) + 0.05 * len(doc_events))
        return DocumentExtraction(
            summary=summary, sentiment=round(sentiment, 4), confidence=round(confidence, 4),
            event_types=sorted(doc_events), companies=impacts,
        )

    @staticmethod
    def _impact(company: MentionedCompany, tally: _Tally) -> CompanyImpact:
        sentiment = math.tanh(tally.score / 1.5)
        if sentiment > DIRECTION_THRESHOLD:
            direction = Direction.BULLISH
        elif sentiment < -DIRECTION_THRESHOLD:
            direction = Direction.BEARISH
        else:
            direction = Direction.NEUTRAL
        events = sorted(tally.events, key=lambda e: (-abs(tally.events[e]), e))
        horizon = Horizon(EVENT_HORIZONS.get(events[0], "short")) if events else Horizon.SHORT
        evidence_strength = min(1.0, 0.3 + 0.1 * tally.hits + 0.1 * len(events))
        confidence = round(min(0.9, evidence_strength) * company.confidence, 4)
        if not tally.hits:
            confidence = round(0.2 * company.confidence, 4)
        rationale = (f"{tally.hits} lexicon hits, score {tally.score:+.2f}"
                     + (f"; events {', '.join(events)}" if events else ""))
        return CompanyImpact(
            ticker=company.ticker, direction=direction,
            magnitude=round(min(1.0, abs(sentiment)), 4), confidence=confidence,
            horizon=horizon, sentiment=round(sentiment, 4), event_types=events,
            rationale=rationale, evidence=tally.evidence,
        )
