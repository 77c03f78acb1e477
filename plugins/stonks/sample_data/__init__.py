"""Bundled SAMPLE DATA: a small news, filings and macro corpus written for Stonks Oracle.

Everything here was written by the project team for the embedded demo and the tests. It is
dated inside the window of the bundled market data (2009-08-21 .. 2010-08-20) and loosely
follows the calendar of that time, but it is NOT real news, NOT real SEC filings and NOT
real feeds: figures and quotes are invented. Each item carries ``"sample": true``.
"""

from __future__ import annotations

SAMPLE_NOTICE = "SAMPLE DATA written for Stonks Oracle; not real news or filings."
WINDOW_START = "2009-08-21"
WINDOW_END = "2010-08-20"
