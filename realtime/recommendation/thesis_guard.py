"""Checks an LLM-written thesis against the recommendation it describes.

A rewrite is rejected (the template thesis stays) when it names another ticker, makes the
opposite call, or quotes a price or percentage that is not one of the recommendation's
numbers. Numbers match after rounding to the precision quoted ("$187" for 187.32, "62%"
for a probability of 0.6234) or within 1 %; bare small integers (counts, "7-day", years)
are not checked because they are not prices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Words that look like tickers but are the call itself or common finance abbreviations.
_NOT_TICKERS = frozenset({"BUY", "SELL", "HOLD", "WATCH", "P", "R", "EPS", "CEO", "CFO",
                          "US", "USA", "USD", "EV", "PE", "ATR", "GDP", "CPI", "FED", "AI",
                          "IPO", "ETF", "NYSE", "SEC", "Q1", "Q2", "Q3", "Q4"})
_TICKER = re.compile(r"(?<![\w$])(\$)?(\()?([A-Z][A-Z0-9]{0,4}(?:\.[A-Z])?)(\))?(?![\w])")
_NUMBER = re.compile(
    r"(?<![\w.])([$])?\s?([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?)\s?(%|percent\b|R\b)?")
_CALL = re.compile(
    r"\b(?:recommend(?:s|ed|ing)?|advis(?:e|es|ed|ing)|suggest(?:s|ed|ing)?|rat(?:e|es|ed|ing))"
    r"\s+(?:to\s+|a\s+|an\s+)?(buy|buying|sell|selling|short|shorting)\b"
    r"|\b(?:a|an|our|the)\s+(buy|sell|short)\s+(?:rating|recommendation|call|signal)\b",
    re.IGNORECASE)
_OPPOSITE = {"buy": ("sell", "selling", "short", "shorting"),
             "sell": ("buy", "buying")}
_YEARS = range(1900, 2101)
#: Names with a number in them that are not quotes ("S&P 500").
_NAMED_NUMBERS = re.compile(r"S&P\s?500|Russell\s?[0-9]{4}|Nasdaq[- ]?100|FTSE\s?100|DAX\s?40",
                            re.IGNORECASE)


@dataclass(frozen=True)
class ThesisFacts:
    """What a rewrite may say: the ticker, the call and the numbers it rests on."""

    ticker: str
    action: str  # buy | sell
    direction: str  # bullish | bearish | neutral
    numbers: tuple[float, ...]


def facts_numbers(facts: Mapping[str, object]) -> tuple[float, ...]:
    """Every number in a (nested) facts mapping, plus fractions as percentages."""
    found: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            found.append(float(value))
            if -1.0 <= value <= 1.0:
                found.append(float(value) * 100)
        elif isinstance(value, str):
            try:
                walk(float(value))
            except ValueError:
                found.extend(n for n, _ in quoted_numbers(value))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(dict(facts))
    return tuple(found)


def quoted_numbers(text: str) -> list[tuple[float, int]]:
    """The price-like numbers of ``text`` as (value, decimals quoted): those with a
    currency sign, a percent or R suffix, a decimal point, or bare integers ≥ 100 that
    are not years."""
    numbers: list[tuple[float, int]] = []
    for match in _NUMBER.finditer(text):
        currency, raw, decimals, suffix = match.groups()
        value = abs(float(raw.replace(",", "")))
        if not (currency or suffix or decimals) and (value < 100 or int(value) in _YEARS):
            continue
        numbers.append((value, len(decimals or "")))
    return numbers


def _matches(value: float, decimals: int, allowed: Iterable[float]) -> bool:
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(value - abs(a)) <= max(tolerance, abs(a) * 0.01) for a in allowed)


def rejection_reason(text: str, claimed_action: str, claimed_direction: str,
                     facts: ThesisFacts, known_tickers: Iterable[str]) -> str | None:
    """Why the rewrite must not replace the template, or None when it may."""
    if claimed_action != facts.action:
        return f"flips the action: {facts.action} → {claimed_action}"
    if facts.direction in ("bullish", "bearish") and claimed_direction != facts.direction:
        return f"flips the direction: {facts.direction} → {claimed_direction}"
    for match in _CALL.finditer(text):
        said = (match.group(1) or match.group(2)).lower()
        if said in _OPPOSITE.get(facts.action, ()):
            return f"flips the action: the text says {match.group(0)!r}"
    others = {t.upper() for t in known_tickers} - {facts.ticker.upper()}
    for match in _TICKER.finditer(text):
        cashtag, opening, token, closing = match.groups()
        if token == facts.ticker.upper() or token in _NOT_TICKERS:
            continue
        marked = bool(cashtag or (opening and closing))
        if (token in others and (len(token) >= 2 or marked)) or (cashtag and token not in others):
            return f"names another ticker: {token}"
    for value, decimals in quoted_numbers(_NAMED_NUMBERS.sub(" ", text)):
        if not _matches(value, decimals, facts.numbers):
            return f"quotes a number not among the recommendation's: {value:g}"
    return None
