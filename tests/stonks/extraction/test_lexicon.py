"""The lexicon extractor on sentences whose polarity, negation and subject are known."""

from __future__ import annotations

import pytest

from stonks.extraction.lexicon import LexiconExtractor, MentionedCompany
from stonks.extraction.lexicon_terms import LEXICON_VERSION
from stonks.models.enums import Direction

APPLE = MentionedCompany("AAPL", ("Apple", "Apple Inc."), is_primary=True)
MICROSOFT = MentionedCompany("MSFT", ("Microsoft",))
ATT = MentionedCompany("T", ("AT&T",), is_primary=True)
VERIZON = MentionedCompany("VZ", ("Verizon", "Verizon Communications"))


def _impacts(text: str, *companies: MentionedCompany) -> dict[str, tuple[Direction, float]]:
    output = LexiconExtractor().extract(text, list(companies))
    return {c.ticker: (c.direction, c.magnitude) for c in output.companies}


@pytest.mark.parametrize(("sentence", "direction"), [
    ("Apple beat estimates and raised its outlook.", Direction.BULLISH),
    ("Apple shares plunged after the company warned on margins.", Direction.BEARISH),
    ("Apple missed estimates as iPhone sales slumped.", Direction.BEARISH),
    ("Apple reported record revenue and strong iPhone growth.", Direction.BULLISH),
    ("Apple is recalling chargers after a lawsuit.", Direction.BEARISH),
    ("Apple will hold its annual meeting in February.", Direction.NEUTRAL),
])
def test_sentences_of_known_polarity(sentence: str, direction: Direction) -> None:
    assert _impacts(sentence, APPLE)["AAPL"][0] is direction


@pytest.mark.parametrize(("sentence", "direction"), [
    ("Apple did not miss estimates this quarter.", Direction.BULLISH),
    ("Apple didn't beat expectations.", Direction.BEARISH),
    ("Apple results were not strong.", Direction.BEARISH),
    ("Apple never recalled a product.", Direction.BULLISH),
])
def test_negation_flips_polarity(sentence: str, direction: Direction) -> None:
    assert _impacts(sentence, APPLE)["AAPL"][0] is direction


def test_negated_event_cue_becomes_the_opposite_event() -> None:
    output = LexiconExtractor().extract("Apple did not beat estimates.", [APPLE])
    assert output.companies[0].event_types == ["earnings_miss"]


def test_intensifiers_scale_and_diminishers_soften() -> None:
    plain = _impacts("Apple shares rose.", APPLE)["AAPL"][1]
    sharp = _impacts("Apple shares rose sharply.", APPLE)["AAPL"][1]
    slight = _impacts("Apple shares rose slightly.", APPLE)["AAPL"][1]
    assert slight < plain < sharp


def test_each_company_in_a_multi_company_sentence_gets_its_own_verb() -> None:
    impacts = _impacts("Apple beat estimates while Microsoft missed forecasts.",
                       APPLE, MICROSOFT)
    assert impacts["AAPL"][0] is Direction.BULLISH
    assert impacts["MSFT"][0] is Direction.BEARISH


def test_verb_after_the_second_company_belongs_to_it() -> None:
    impacts = _impacts("Shares of Microsoft fell sharply after Apple topped forecasts.",
                       APPLE, MICROSOFT)
    assert impacts["MSFT"][0] is Direction.BEARISH
    assert impacts["AAPL"][0] is Direction.BULLISH


def test_clauses_separate_rivals() -> None:
    text = ("AT&T said its network outage hurt results, while rival Verizon Communications "
            "reported strong subscriber growth.")
    impacts = _impacts(text, ATT, VERIZON)
    assert impacts["T"][0] is Direction.BEARISH
    assert impacts["VZ"][0] is Direction.BULLISH


def test_sentences_without_a_name_belong_to_the_company_last_discussed() -> None:
    text = "Microsoft reported results. The company raised its outlook sharply."
    impacts = _impacts(text, APPLE, MICROSOFT)
    assert impacts["MSFT"][0] is Direction.BULLISH
    assert impacts["AAPL"] == (Direction.NEUTRAL, 0.0)


def test_tickers_count_only_in_capitals() -> None:
    it = MentionedCompany("IT", ("Gartner",))
    impacts = _impacts("Spending on it rose sharply. Gartner said it expects growth.", it)
    assert impacts["IT"][0] is Direction.BULLISH  # via the name, not the word "it"


def test_event_types_and_horizon() -> None:
    output = LexiconExtractor().extract(
        "Exxon Mobil agreed to acquire a gas producer in an all-stock deal.",
        [MentionedCompany("XOM", ("Exxon Mobil",))])
    (impact,) = output.companies
    assert "merger_acquisition" in impact.event_types
    assert impact.horizon.value == "medium"
    assert output.event_types == ["merger_acquisition"]


def test_the_output_is_deterministic_and_versioned() -> None:
    text = "Apple beat estimates. Microsoft missed."
    first = LexiconExtractor().extract(text, [APPLE, MICROSOFT])
    assert LexiconExtractor().extract(text, [APPLE, MICROSOFT]) == first
    assert len(LEXICON_VERSION) == 64
