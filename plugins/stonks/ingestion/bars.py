"""Market bars to the lake as Parquet, one object per (timespan, day, source).

Keys are deterministic (``bars/timespan=<span>/date=<yyyy-mm-dd>/<source>.parquet``, a Hive
layout DuckDB and Trino prune on), so re-running a window rewrites the same object with
the same rows.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from stonks.ingestion.object_store import ObjectStore
from stonks.sources.records import Bar

SCHEMA = pa.schema([
    ("ticker", pa.string()),
    ("start", pa.timestamp("ms", tz="UTC")),
    ("open", pa.float64()),
    ("high", pa.float64()),
    ("low", pa.float64()),
    ("close", pa.float64()),
    ("volume", pa.float64()),
    ("vwap", pa.float64()),
    ("transactions", pa.int64()),
])


def bars_key(timespan: str, day: date, source_key: str) -> str:
    """The lake key of one day's bars of one timespan from one source."""
    return f"bars/timespan={timespan}/date={day.isoformat()}/{source_key}.parquet"


def bars_table(bars: Sequence[Bar]) -> pa.Table:
    """Bars as an Arrow table, sorted by ticker and start."""
    ordered = sorted(bars, key=lambda b: (b.ticker, b.start))
    return pa.table(
        {
            "ticker": [b.ticker for b in ordered],
            "start": [b.start for b in ordered],
            "open": [b.open for b in ordered],
            "high": [b.high for b in ordered],
            "low": [b.low for b in ordered],
            "close": [b.close for b in ordered],
            "volume": [b.volume for b in ordered],
            "vwap": [b.vwap for b in ordered],
            "transactions": [b.transactions for b in ordered],
        },
        schema=SCHEMA,
    )


def write_bars(
    store: ObjectStore, bars: Sequence[Bar], *, timespan: str, source_key: str
) -> dict[str, int]:
    """Write bars grouped by UTC day; returns rows written per object key."""
    by_day: dict[date, list[Bar]] = defaultdict(list)
    for bar in bars:
        by_day[bar.start.date()].append(bar)
    written = {}
    for day, day_bars in sorted(by_day.items()):
        buffer = io.BytesIO()
        pq.write_table(bars_table(day_bars), buffer, compression="zstd")
        key = bars_key(timespan, day, source_key)
        store.put(key, buffer.getvalue())
        written[key] = len(day_bars)
    return written


def read_bars(store: ObjectStore, key: str) -> pa.Table:
    """One bars object back as an Arrow table."""
    return pq.read_table(io.BytesIO(store.get(key)))
