"""Every Redis key the system uses, named in one place.

The convention is the seed's: ``stonks:<area>:<name>``. Nothing else builds key strings.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

PREFIX: Final = "stonks"


class QueueName(StrEnum):
    """The work queues (Redis Streams, one consumer group each)."""

    INGESTION = "ingestion"
    PARSING = "parsing"
    EXTRACTION = "extraction"
    MACRO_CLASSIFICATION = "macro_classification"
    AGGREGATION = "aggregation"
    RECOMMENDATION = "recommendation"
    BROKER_ORDERS = "broker_orders"
    LAKE_PUBLISH = "lake_publish"
    REPORT_GENERATION = "report_generation"


PIPELINE_ENABLED: Final = f"{PREFIX}:pipeline:enabled"


def queue(name: str) -> str:
    """The stream holding a queue's entries: ``stonks:queue:<name>``."""
    return f"{PREFIX}:queue:{name}"


def dlq(name: str) -> str:
    """The dead-letter stream of a queue: ``stonks:dlq:<name>``."""
    return f"{PREFIX}:dlq:{name}"


def retry(name: str) -> str:
    """Sorted set of a queue's entry ids waiting for a retry, scored by due time."""
    return f"{PREFIX}:retry:{name}"


def dedupe(namespace: str, key: str) -> str:
    """Content dedupe marker (with a TTL): ``stonks:dedupe:<namespace>:<key>``."""
    return f"{PREFIX}:dedupe:{namespace}:{key}"


def trading_dedupe(recommendation_id: str) -> str:
    """Marker that the trading engine already handled a recommendation."""
    return f"{PREFIX}:dedupe:trading:{recommendation_id}"


def rate_limit(api: str) -> str:
    """Token bucket shared by every caller of an external API."""
    return f"{PREFIX}:ratelimit:{api}"


def circuit_breaker(account: str) -> str:
    """Circuit-breaker state of a trading account."""
    return f"{PREFIX}:trading:circuit_breaker:{account}"


def notification_rate(channel: str) -> str:
    """Rate-limit counter of a notification channel (sms, email, …)."""
    return f"{PREFIX}:trading:notification_rate:{channel}"


def order_idempotency(client_order_id: str) -> str:
    """Marker that an order with this client_order_id was handed to the broker."""
    return f"{PREFIX}:order_idempotency:{client_order_id}"


def lock(name: str) -> str:
    """A distributed lock."""
    return f"{PREFIX}:lock:{name}"


def cache(namespace: str, key: str) -> str:
    """A cached value (agent configs, quotes, …)."""
    return f"{PREFIX}:cache:{namespace}:{key}"


def rec_dedup(ticker: str) -> str:
    """Five-minute dedupe of recommendation jobs per ticker."""
    return f"{PREFIX}:rec_dedup:{ticker}"


def all_queue_streams() -> list[str]:
    return [queue(name) for name in QueueName]


def signal_agreement(ticker: str) -> str:
    """Rolling window of the signal engine's per-tick agreement flags for one ticker (a list)."""
    return f"{PREFIX}:signal_engine:agreement:{ticker}"


def signal_agreement_ticks() -> str:
    """Rolling window of per-tick agreement rates over all tickers (a list of JSON)."""
    return f"{PREFIX}:signal_engine:agreement_ticks"


def signal_agreement_matrix() -> str:
    """Counts of (heuristic verdict, probabilistic verdict) pairs since start (a hash)."""
    return f"{PREFIX}:signal_engine:agreement_matrix"


def trading_watermark(account: str) -> str:
    """Highest recommendation id the trading engine's fallback poll has looked at."""
    return f"{PREFIX}:trading:watermark:{account}"


def simulated_broker(account: str, part: str) -> str:
    """State of the simulated broker's book ('orders', 'positions', 'cash')."""
    return f"{PREFIX}:broker:simulated:{account}:{part}"
