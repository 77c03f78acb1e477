"""Company mention detection: tickers and aliases on word boundaries, with context rules.

Text is tokenised once; n-grams of up to ``MAX_ALIAS_WORDS`` tokens are looked up in a
dictionary of aliases, so the cost does not grow with the size of the universe. Tickers
match only in capitals. Ambiguous tickers (A, ALL, IT, ON, KEY, …) and common-word names
("Target", "Gap") count only with context: a cashtag (``$ALL``), an exchange prefix
(``NYSE: A``), a parenthesised ticker after a name or a following "shares"/"stock"; an
ambiguous name may also lean on the company being named unambiguously elsewhere in the
document or tagged by the provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_ALIAS_WORDS = 5
_TOKEN = re.compile(r"\$?[A-Za-z0-9][A-Za-z0-9&.'-]*[A-Za-z0-9&]|\$?[A-Za-z0-9]")
_EXCHANGE = re.compile(r"(?:NYSE|NASDAQ|Nasdaq|AMEX|NYSE Arca|OTC)\s*:\s*$")
_AFTER_CUE = re.compile(r"^\W{0,2}\s*(?:shares|stock|stocks|common stock|'s shares|shares')\b",
                        re.IGNORECASE)
_CORPORATE_SUFFIX = re.compile(r"^\s*(?:Inc|Corp|Corporation|Co|Company|Cos|Group|Ltd|plc)\b")


@dataclass(frozen=True)
class AliasEntry:
    """One way a company can be named: its alias text, kind and ambiguity."""

    company_id: int
    ticker: str
    alias: str
    is_ticker: bool
    ambiguous: bool


@dataclass
class Mention:
    """A company found in a text: how often, by which aliases, where first, how sure."""

    company_id: int
    ticker: str
    count: int = 0
    aliases: set[str] = field(default_factory=set)
    first_offset: int = 0
    confidence: float = 0.0
    unambiguous_hits: int = 0


class MentionDetector:
    """Finds companies in text from (company_id, ticker, alias, is_ticker, ambiguous) rows."""

    def __init__(self, entries: Iterable[AliasEntry]) -> None:
        self._tickers: dict[str, list[AliasEntry]] = {}
        self._names: dict[str, list[AliasEntry]] = {}
        for entry in entries:
            if entry.is_ticker:
                self._tickers.setdefault(entry.alias.upper(), []).append(entry)
            else:
                key = _name_key(entry.alias)
                if key:
                    self._names.setdefault(key, []).append(entry)

    def detect(self, text: str, hinted_tickers: Iterable[str] = ()) -> list[Mention]:
        """Mentions in ``text``, most mentioned first. ``hinted_tickers`` (provider tags)
        count as context for ambiguous aliases of those companies."""
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        found: dict[int, Mention] = {}
        pending: list[tuple[AliasEntry, int, str, bool]] = []
        hints = {t.upper() for t in hinted_tickers}
        index = 0
        while index < len(tokens):
            start, _, word = tokens[index]
            matched = 0
            for size in range(min(MAX_ALIAS_WORDS, len(tokens) - index), 0, -1):
                last_end = tokens[index + size - 1][1]
                phrase = text[start:last_end]
                entries = self._names.get(_name_key(phrase)) if phrase[0].isupper() else None
                if entries:
                    for entry in entries:
                        context = _CORPORATE_SUFFIX.match(text, last_end) is not None
                        pending.append((entry, start, phrase, context))
                    matched = size
                    break
            if not matched:
                bare = word[1:] if word.startswith("$") else word
                entries = self._tickers.get(bare) if bare.isupper() else None
                if entries:
                    end = tokens[index][1]
                    for entry in entries:
                        pending.append((entry, start, bare, _ticker_context(text, start, end,
                                                                            word)))
                matched = 1
            index += matched
        for entry, offset, alias, _ in pending:
            if entry.ambiguous:
                continue
            _add(found, entry, offset, alias)
        for entry, offset, alias, context in pending:
            if not entry.ambiguous:
                continue
            # A bare ambiguous ticker ("A", "ALL") needs its own context; an ambiguous name
            # ("Target") may also lean on the company being named elsewhere or tagged.
            if context or (not entry.is_ticker
                           and (entry.company_id in found or entry.ticker in hints)):
                _add(found, entry, offset, alias, ambiguous=True)
        for mention in found.values():
            base = 0.6 if mention.unambiguous_hits else 0.45
            mention.confidence = round(min(1.0, base + 0.15 * (mention.count - 1)
                                           + (0.1 if mention.ticker in hints else 0.0)), 4)
        return sorted(found.values(), key=lambda m: (-m.count, m.first_offset))


def _add(found: dict[int, Mention], entry: AliasEntry, offset: int, alias: str,
         *, ambiguous: bool = False) -> None:
    mention = found.get(entry.company_id)
    if mention is None:
        mention = found[entry.company_id] = Mention(entry.company_id, entry.ticker,
                                                    first_offset=offset)
    mention.count += 1
    mention.aliases.add(alias)
    mention.first_offset = min(mention.first_offset, offset)
    if not ambiguous:
        mention.unambiguous_hits += 1


def _ticker_context(text: str, start: int, end: int, word: str) -> bool:
    if word.startswith("$"):
        return True
    before = text[max(0, start - 12):start]
    if _EXCHANGE.search(before):
        return True
    if before.endswith("(") and text[end:end + 1] == ")":
        return True
    return _AFTER_CUE.match(text[end:end + 20]) is not None


def _name_key(alias: str) -> str:
    return " ".join(alias.casefold().replace("\u2019", "'").split()).rstrip(".")
