"""One Airflow pool per external API; slots bound how many tasks call it at once.

The request rate itself is enforced by the Redis token bucket every caller shares
(``stonks:ratelimit:<api>``); pools keep Airflow from queueing more concurrent callers than
the rate can serve.
"""

from __future__ import annotations

from typing import Final

POLYGON: Final = "polygon_api"
SEC_EDGAR: Final = "sec_edgar"
MACRO_FEEDS: Final = "macro_feeds"
DOCUMENT_PARSING: Final = "document_parsing"

#: name -> (slots, description)
POOLS: Final[dict[str, tuple[int, str]]] = {
    POLYGON: (2, "Polygon.io REST API (news, aggregates)"),
    SEC_EDGAR: (2, "SEC EDGAR (<= 10 requests/s, descriptive User-Agent)"),
    MACRO_FEEDS: (4, "Macro and geopolitical RSS/Atom/JSON feeds"),
    DOCUMENT_PARSING: (2, "Document parsing workers (database-bound)"),
}


def ensure_pools() -> list[str]:
    """Create or update every pool in the Airflow metadata database; returns their names."""
    from airflow.models.pool import Pool

    for name, (slots, description) in POOLS.items():
        Pool.create_or_update_pool(name, slots=slots, description=description,
                                   include_deferred=False)
    return sorted(POOLS)
