"""HTML cleaning, quality scoring and mention detection precision."""

from __future__ import annotations

import pytest

from stonks.ingestion.companies import ambiguous_ticker, name_aliases
from stonks.parsing.html_text import clean_html
from stonks.parsing.mentions import AliasEntry, MentionDetector
from stonks.parsing.quality import NEAR_DUPLICATE_BITS, assess, hamming, simhash, words

PAGE = """<html><head><title>Acme beats estimates</title>
<script>var secret = "tracking-code"; document.write("ad");</script>
<style>.x { color: red }</style></head>
<body>
<header><a href="/">Home</a> <a href="/markets">Markets</a></header>
<nav class="top-menu"><ul><li>World</li><li>Business</li></ul></nav>
<div class="cookie-banner">We use cookies. Accept?</div>
<article><h1>Acme beats estimates</h1>
<p>Acme Corp reported revenue of <b>$1.2 billion</b>, above forecasts.</p>
<table><tr><th>Item</th><th>Q4</th></tr><tr><td>Revenue</td><td>1,200</td></tr></table>
<p>The company raised its outlook.</p></article>
<div id="share-bar">Share on Twitter</div>
<aside class="related">Related: other stories</aside>
<footer>Copyright 2010</footer>
</body></html>"""


def test_clean_html_drops_scripts_navigation_and_boilerplate_but_keeps_tables() -> None:
    cleaned = clean_html(PAGE)
    assert cleaned.title == "Acme beats estimates"
    assert "Acme Corp reported revenue of $1.2 billion, above forecasts." in cleaned.text
    assert "Revenue | 1,200" in cleaned.text
    assert "The company raised its outlook." in cleaned.text
    for junk in ("tracking-code", "color: red", "Markets", "Business", "cookies",
                 "Twitter", "Related", "Copyright"):
        assert junk not in cleaned.text, junk
    assert 0.2 < cleaned.boilerplate_ratio < 0.9


def test_clean_html_survives_broken_and_empty_markup() -> None:
    assert clean_html("").text == ""
    assert "unclosed" in clean_html("<div><p>unclosed <b>tags").text


def test_quality_prefers_long_english_text() -> None:
    long_text = ("The company reported that sales in the quarter were higher than a year "
                 "earlier, and it said it expects growth to continue. ") * 6
    good = assess(long_text, boilerplate_ratio=0.05, duplicate=False)
    short = assess("Shares up.", boilerplate_ratio=0.0, duplicate=False)
    foreign = assess("Die Gesellschaft meldete einen Umsatzanstieg im vierten Quartal "
                     "deutlich über den Erwartungen der Analysten " * 5,
                     boilerplate_ratio=0.0, duplicate=False)
    duplicate = assess(long_text, boilerplate_ratio=0.05, duplicate=True)
    assert good.language == "en" and good.score > 0.8
    assert short.score < 0.2
    assert foreign.language == "und" and foreign.score < good.score / 2
    assert duplicate.score < 0.3


def test_simhash_finds_near_duplicates_only() -> None:
    story = ("Apple reported record revenue for its fiscal first quarter as iPhone units "
             "doubled and Mac sales grew strongly across every region, the company said.")
    reworded = story.replace("strongly", "sharply")
    other = ("Exxon Mobil said refining margins stayed weak while production of oil and gas "
             "rose in the fourth quarter, sending its shares lower in early trading.")
    assert hamming(simhash(words(story)), simhash(words(reworded))) <= NEAR_DUPLICATE_BITS
    assert hamming(simhash(words(story)), simhash(words(other))) > NEAR_DUPLICATE_BITS + 5


def _detector() -> MentionDetector:
    companies = [
        (1, "A", "Agilent Technologies Inc"), (2, "ALL", "Allstate Corp"),
        (3, "AAPL", "Apple Inc."), (4, "TGT", "Target Corp."), (5, "F", "Ford Motor"),
        (6, "KEY", "KeyCorp"), (7, "T", "AT&T Inc"), (8, "MSFT", "Microsoft Corp."),
    ]
    entries = []
    for company_id, ticker, name in companies:
        entries.append(AliasEntry(company_id, ticker, ticker.lower(), True,
                                  ambiguous_ticker(ticker)))
        for alias in name_aliases(name):
            entries.append(AliasEntry(company_id, ticker, alias.casefold(), False,
                                      alias.casefold() in {"target", "ford"}))
    return MentionDetector(entries)


# (sentence, tickers that must be found)
CASES = [
    ("A spokesperson said the outlook is unchanged.", set()),
    ("ALL of the analysts agreed with IT departments ON Monday.", set()),
    ("It is a KEY quarter for the industry.", set()),
    ("Shares of $ALL fell after the storm losses.", {"ALL"}),
    ("Agilent Technologies (NYSE: A) raised guidance.", {"A"}),
    ("Allstate (ALL) and KeyCorp reported results.", {"ALL", "KEY"}),
    ("ALL shares slid 3% in New York.", {"ALL"}),
    ("Our target for the index is 1,200.", set()),
    ("Target Corp. lifted its forecast; Target stores saw more traffic.", {"TGT"}),
    ("Apple Inc. and MSFT led the Nasdaq higher.", {"AAPL", "MSFT"}),
    ("apple pie sales rose in the fall.", set()),
    ("Harrison Ford starred in the film.", set()),
    ("T shares were flat while AT&T said its network improved.", {"T"}),
    ("The FDA approved a drug; A is the first letter.", set()),
]


@pytest.mark.parametrize(("sentence", "expected"), CASES)
def test_mentions_need_context_for_ambiguous_tickers(sentence: str, expected: set[str]) -> None:
    found = {m.ticker for m in _detector().detect(sentence)}
    assert found == expected


def test_mention_precision_and_recall_over_the_ambiguous_set() -> None:
    detector = _detector()
    true_positive = false_positive = false_negative = 0
    for sentence, expected in CASES:
        found = {m.ticker for m in detector.detect(sentence)}
        true_positive += len(found & expected)
        false_positive += len(found - expected)
        false_negative += len(expected - found)
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / (true_positive + false_negative)
    assert precision >= 0.95 and recall >= 0.9


def test_mentions_count_aliases_offsets_and_confidence() -> None:
    text = "Apple Inc. said AAPL rose. Apple also said iPhone sales grew."
    (mention,) = _detector().detect(text)
    assert mention.ticker == "AAPL" and mention.count == 3
    assert mention.aliases == {"Apple Inc", "AAPL", "Apple"}
    assert mention.first_offset == 0 and mention.confidence == 0.9
