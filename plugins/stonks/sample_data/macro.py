"""SAMPLE macro and geopolitical feeds: one RSS 2.0, one Atom and one JSON Feed (invented)."""

from __future__ import annotations

import json
from html import escape

from stonks.sample_data import SAMPLE_NOTICE

RSS_URL = "https://feeds.example.invalid/sample/economy.rss"
ATOM_URL = "https://feeds.example.invalid/sample/world.atom"
JSON_URL = "https://feeds.example.invalid/sample/central-banks.json"

# (published RFC 822, title, summary html)
_RSS_ITEMS = [
    ("Fri, 04 Sep 2009 12:30:00 GMT", "US payrolls fall less than expected in August",
     "<p>Employers cut 216,000 jobs; the <b>unemployment rate</b> rose to 9.7%.</p>"),
    ("Thu, 29 Oct 2009 12:30:00 GMT", "US economy returns to growth in third quarter",
     "<p>Gross domestic product grew at a 3.5% annual rate, ending a recession.</p>"),
    ("Fri, 06 Nov 2009 13:30:00 GMT", "Unemployment rate climbs to 10.2%",
     "<p>The jobless rate reached its highest level since 1983.</p>"),
    ("Mon, 25 Jan 2010 15:00:00 GMT", "Existing home sales drop sharply in December",
     "<p>Sales of existing homes fell 16.7% as a tax credit deadline passed.</p>"),
    ("Wed, 27 Jan 2010 19:15:00 GMT", "Fed holds rates near zero, one dissent",
     "<p>The Federal Reserve kept its benchmark rate at 0 to 0.25% and repeated it expects "
     "low rates for an extended period. Inflation remains subdued.</p>"),
    ("Thu, 28 Jan 2010 02:10:00 GMT", "State of the Union focuses on jobs and deficit",
     "<p>The president proposed a three-year spending freeze and a jobs bill.</p>"),
    ("Fri, 29 Jan 2010 13:30:00 GMT", "Fourth-quarter GDP grows 5.7%, fastest in six years",
     "<p>Inventory rebuilding drove most of the gain in gross domestic product.</p>"),
    ("Fri, 07 May 2010 12:30:00 GMT", "US adds 290,000 jobs in April",
     "<p>Payrolls rose the most in four years, though the unemployment rate ticked up.</p>"),
]

_ATOM_ENTRIES = [
    ("2009-12-08T09:00:00Z", "Rating agency cuts Greece outlook as deficit widens",
     "Concern over sovereign debt in the euro area grew after the outlook cut."),
    ("2010-01-26T08:00:00Z", "China tightens bank lending to cool growth",
     "Chinese regulators told some banks to slow lending, weighing on commodities."),
    ("2010-04-20T16:00:00Z", "Oil rig explosion in the Gulf of Mexico",
     "An explosion on a drilling rig led to a large oil spill and a drilling moratorium."),
    ("2010-05-02T12:00:00Z", "Euro zone agrees rescue package for Greece",
     "Finance ministers agreed a 110 billion euro bailout with the IMF."),
]

_JSON_ITEMS = [
    ("2009-09-23T18:15:00Z", "Fed to slow purchases of mortgage securities",
     "The central bank said it will finish buying agency mortgage securities by March."),
    ("2010-01-27T19:20:00Z", "Fed statement: economic activity has continued to strengthen",
     "Policy makers said the labour market is stabilising and housing shows improvement."),
    ("2010-02-18T21:30:00Z", "Fed raises discount rate to 0.75%",
     "The increase normalises lending to banks and is not a change in monetary policy."),
    ("2010-08-10T18:15:00Z", "Fed to reinvest mortgage bond proceeds",
     "The central bank will keep its holdings steady by buying Treasuries as growth slows."),
]


def rss_feed() -> bytes:
    """The sample economy feed as RSS 2.0 XML."""
    items = "".join(
        f"<item><title>{escape(title)}</title>"
        f"<link>https://news.example.invalid/macro/rss-{n}</link>"
        f"<guid>sample-macro-rss-{n}</guid><pubDate>{date}</pubDate>"
        f"<description>{escape(summary)}</description></item>"
        for n, (date, title, summary) in enumerate(_RSS_ITEMS, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Sample Economy Wire</title><link>{RSS_URL}</link>"
        f"<description>{SAMPLE_NOTICE}</description>{items}</channel></rss>"
    ).encode()


def atom_feed() -> bytes:
    """The sample world-events feed as Atom XML."""
    entries = "".join(
        f"<entry><id>sample-macro-atom-{n}</id><title>{escape(title)}</title>"
        f'<link href="https://news.example.invalid/macro/atom-{n}"/>'
        f"<published>{date}</published><updated>{date}</updated>"
        f"<summary>{escape(summary)}</summary></entry>"
        for n, (date, title, summary) in enumerate(_ATOM_ENTRIES, 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Sample World Events</title><id>{ATOM_URL}</id>"
        f"<subtitle>{SAMPLE_NOTICE}</subtitle>{entries}</feed>"
    ).encode()


def json_feed() -> bytes:
    """The sample central-bank feed as JSON Feed 1.1."""
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Sample Central Bank Watch",
        "description": SAMPLE_NOTICE,
        "items": [
            {"id": f"sample-macro-json-{n}", "url": f"https://news.example.invalid/macro/json-{n}",
             "title": title, "content_text": summary, "date_published": date}
            for n, (date, title, summary) in enumerate(_JSON_ITEMS, 1)
        ],
    }).encode()


def feeds() -> dict[str, bytes]:
    """Every sample feed by URL."""
    return {RSS_URL: rss_feed(), ATOM_URL: atom_feed(), JSON_URL: json_feed()}
