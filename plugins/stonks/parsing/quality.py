"""A document quality score in [0, 1]: length, language, boilerplate and near-duplicates.

Language is judged by the share of common English function words (the corpus and the
lexicon downstream are English); near-duplicates by a 64-bit SimHash of words and word pairs,
where a Hamming distance of at most ``NEAR_DUPLICATE_BITS`` counts as the same story.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_ENGLISH = frozenset({
    "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "they", "you", "were", "her", "she", "there", "been", "its", "has", "their", "will",
    "would", "more", "said", "after", "than", "up", "also", "into", "over", "new", "year",
    "quarter", "company", "shares", "sales",
})
NEAR_DUPLICATE_BITS = 10
MIN_WORDS = 20
FULL_WORDS = 120


@dataclass(frozen=True)
class Quality:
    """The quality verdict of one text."""

    score: float
    word_count: int
    language: str | None
    simhash: int


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def detect_language(tokens: list[str]) -> str | None:
    """'en' when enough function words are English, None when it cannot tell."""
    if len(tokens) < 5:
        return None
    share = sum(1 for t in tokens if t in _ENGLISH) / len(tokens)
    return "en" if share >= 0.08 else "und"


def simhash(tokens: list[str]) -> int:
    """64-bit SimHash over words and word pairs (robust for short news texts)."""
    shingles = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    if not shingles:
        return 0
    digests = b"".join(
        hashlib.blake2b(shingle.encode(), digest_size=8).digest() for shingle in shingles
    )
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8), axis=1)
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(shingles)
    # bit i of the result (MSB first) is set when most shingles have it set
    return int("".join("1" if v > 0 else "0" for v in votes), 2)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def near_duplicate_of(fingerprint: int, others: Iterable[tuple[int, int]]) -> int | None:
    """The id of the first ``(id, simhash)`` close enough to ``fingerprint``, if any."""
    for other_id, other in others:
        if fingerprint and hamming(fingerprint, other) <= NEAR_DUPLICATE_BITS:
            return other_id
    return None


def assess(text: str, *, boilerplate_ratio: float, duplicate: bool) -> Quality:
    """Score ``text``: short, non-English, boilerplate-heavy or duplicate text scores low."""
    tokens = words(text)
    count = len(tokens)
    language = detect_language(tokens)
    length_factor = 0.0 if count < MIN_WORDS // 2 else min(1.0, count / FULL_WORDS) ** 0.5
    language_factor = 1.0 if language == "en" else 0.4
    boilerplate_factor = 1.0 - 0.7 * max(0.0, min(1.0, boilerplate_ratio))
    score = length_factor * language_factor * boilerplate_factor
    if duplicate:
        score *= 0.2
    return Quality(round(max(0.0, min(1.0, score)), 4), count, language, simhash(tokens))
