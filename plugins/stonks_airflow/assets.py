"""The Assets the DAGs produce and consume, declared once."""

from __future__ import annotations

from airflow.sdk import Asset

#: New rows in ``documents`` (news, filings, macro) waiting to be parsed.
RAW_DOCUMENTS = Asset(name="stonks_raw_documents", uri="stonks://documents/raw")
#: Parsed and routed documents (input of extraction and macro classification).
PARSED_DOCUMENTS = Asset(name="stonks_parsed_documents", uri="stonks://documents/parsed")
#: Market bars written to the lake (``bars/timespan=…/date=…``).
MARKET_BARS = Asset(name="stonks_market_bars", uri="stonks://lake/bars")
#: New rows in the three signal layers (company, macro, competitive) for aggregation.
SIGNALS = Asset(name="stonks_signals", uri="stonks://signals/weighted")
