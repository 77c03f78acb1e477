"""SAMPLE SEC filings: EDGAR-shaped submissions JSON and primary 10-K/10-Q documents.

The text and numbers are invented for the demo; only the CIKs are the companies' real ones
(so the live adapter would look up the same companies). Accession numbers use the fake filer
prefix 0009999999 so they can never be mistaken for real ones.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from stonks.sample_data import SAMPLE_NOTICE

#: Real SEC CIKs of the default tracked companies (zero-padded).
CIKS: dict[str, str] = {
    "AAPL": "0000320193", "MSFT": "0000789019", "GOOG": "0001288776", "AMZN": "0001018724",
    "JPM": "0000019617", "XOM": "0000034088", "JNJ": "0000200406", "WMT": "0000104169",
    "IBM": "0000051143", "GE": "0000040545",
}


@dataclass(frozen=True)
class SampleFiling:
    ticker: str
    company: str
    form: str
    accepted: str
    report_date: str
    revenue_musd: int
    net_income_musd: int
    highlights: tuple[str, ...]

    @property
    def accession(self) -> str:
        number = hash_key(self.ticker + self.form + self.accepted)
        return f"0009999999-{self.accepted[2:4]}-{number:06d}"

    @property
    def primary_document(self) -> str:
        return f"{self.ticker.lower()}-{self.form.lower().replace('-', '')}-{self.report_date}.htm"


def hash_key(text: str) -> int:
    """A small deterministic number from text (Python's hash() is salted per process)."""
    value = 0
    for char in text:
        value = (value * 131 + ord(char)) % 1_000_000
    return value


FILINGS: tuple[SampleFiling, ...] = (
    SampleFiling("AAPL", "Apple Inc.", "10-K", "2009-10-27T16:05:00Z", "2009-09-26", 36537,
                 5704, ("Net sales increased driven by iPhone and Mac growth.",
                        "The Company faces intense competition in all of its markets.")),
    SampleFiling("AAPL", "Apple Inc.", "10-Q", "2010-01-25T21:40:00Z", "2009-12-26", 15683,
                 3378, ("iPhone handset sales grew strongly in the quarter.",
                        "Gross margin rose due to lower commodity costs.")),
    SampleFiling("MSFT", "Microsoft Corporation", "10-Q", "2010-01-28T21:30:00Z",
                 "2009-12-31", 19022, 6662,
                 ("Windows 7 launch drove client revenue higher.",
                  "Operating expenses declined following cost reductions.")),
    SampleFiling("AMZN", "Amazon.com, Inc.", "10-K", "2010-01-29T14:00:00Z", "2009-12-31",
                 24509, 902, ("Net sales grew on electronics and Kindle.",
                              "We expect fulfilment capacity to expand in 2010.")),
    SampleFiling("GOOG", "Google Inc.", "10-K", "2010-02-12T16:20:00Z", "2009-12-31", 23651,
                 6520, ("Advertising revenue recovered in the second half.",
                        "Operations in China are under review.")),
    SampleFiling("GE", "General Electric Company", "10-K", "2010-02-19T15:00:00Z",
                 "2009-12-31", 156783, 11025,
                 ("GE Capital reduced its assets as planned.",
                  "Infrastructure orders stabilised late in the year.")),
    SampleFiling("JNJ", "Johnson & Johnson", "10-K", "2010-02-22T15:30:00Z", "2010-01-03",
                 61897, 12266, ("Pharmaceutical sales declined due to generic competition.",
                                "Consumer segment results were steady.")),
    SampleFiling("IBM", "International Business Machines Corporation", "10-K",
                 "2010-02-23T16:00:00Z", "2009-12-31", 95758, 13425,
                 ("Services signings rose and software margins expanded.",
                  "Hardware revenue declined in a weak market.")),
    SampleFiling("JPM", "JPMorgan Chase & Co.", "10-K", "2010-02-24T20:00:00Z", "2009-12-31",
                 100434, 11728, ("Investment banking fees increased from 2008.",
                                 "Credit card charge-offs remained high.")),
    SampleFiling("XOM", "Exxon Mobil Corporation", "10-K", "2010-02-26T16:10:00Z",
                 "2009-12-31", 310586, 19280, ("Refining margins were weak throughout 2009.",
                                                "Upstream production volumes were stable.")),
    SampleFiling("AAPL", "Apple Inc.", "10-Q", "2010-04-21T20:30:00Z", "2010-03-27", 13499,
                 3074, ("iPhone revenue nearly doubled year over year.",
                        "The iPad began shipping in April.")),
    SampleFiling("WMT", "Wal-Mart Stores, Inc.", "10-Q", "2010-06-08T14:00:00Z", "2010-04-30",
                 99097, 3444, ("Walmart U.S. comparable sales declined slightly.",
                               "International segment sales grew in constant currency.")),
)


def primary_document_html(filing: SampleFiling) -> str:
    """The filing's primary document: HTML with navigation, a script and a data table."""
    name = html.escape(filing.company)
    paragraphs = "\n".join(f"<p>{html.escape(text)}</p>" for text in filing.highlights)
    return f"""<!DOCTYPE html>
<html><head><title>{name} {filing.form}</title>
<script type="text/javascript">var tracking = "sample"; function go() {{ return 1; }}</script>
<style>body {{ font-family: serif; }}</style></head>
<body>
<nav class="edgar-nav"><a href="/">Home</a> | <a href="/search">Search filings</a></nav>
<div class="notice">{SAMPLE_NOTICE}</div>
<h1>{name}</h1>
<h2>FORM {filing.form} for the period ended {filing.report_date}</h2>
<p>{name} (ticker {filing.ticker}) files this report with the Securities and Exchange
Commission. This document is sample data written for Stonks Oracle.</p>
<h3>Management's Discussion and Analysis</h3>
{paragraphs}
<p>Results of operations for the period are summarised in the table below. The company
believes its liquidity is sufficient to meet its needs for at least the next twelve months.</p>
<table class="financials">
<tr><th>Item</th><th>Amount (USD millions)</th></tr>
<tr><td>Net sales</td><td>{filing.revenue_musd:,}</td></tr>
<tr><td>Net income</td><td>{filing.net_income_musd:,}</td></tr>
</table>
<h3>Risk Factors</h3>
<p>The company's business, financial condition and operating results can be affected by a
number of factors, including global economic conditions, competition and regulation.</p>
<footer>Copyright sample. <a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>
</body></html>
"""


def submissions(ticker: str) -> dict[str, Any]:
    """An EDGAR submissions JSON (``CIK##########.json`` shape) for one sample company."""
    own = sorted((f for f in FILINGS if f.ticker == ticker), key=lambda f: f.accepted,
                 reverse=True)
    name = own[0].company if own else ticker
    return {
        "cik": CIKS[ticker].lstrip("0"),
        "entityType": "operating",
        "name": name,
        "tickers": [ticker],
        "exchanges": [],
        "sample": True,
        "filings": {
            "recent": {
                "accessionNumber": [f.accession for f in own],
                "filingDate": [f.accepted[:10] for f in own],
                "reportDate": [f.report_date for f in own],
                "acceptanceDateTime": [f.accepted.replace("Z", ".000Z") for f in own],
                "form": [f.form for f in own],
                "primaryDocument": [f.primary_document for f in own],
                "primaryDocDescription": [f.form for f in own],
            },
            "files": [],
        },
    }
