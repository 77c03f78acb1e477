"""Crash-safe work queues on Redis Streams with consumer groups.

Publish with :class:`Producer`, consume with :class:`Consumer` (ack after the handler's
commit, reclaim of abandoned entries, retries with backoff, a dead-letter stream), inspect
and replay failures with :class:`DeadLetters`, and pause everything with
:class:`PipelineToggle`. A handler's last hand-offs can ride on the consumer's next round
trip through its :class:`Outbox`.
"""

from stonks.queues.consumer import (
    DEFAULT_GROUP,
    Consumer,
    ConsumerConfig,
    ConsumerStats,
    Delivery,
    Handler,
)
from stonks.queues.dead_letters import DeadLetter, DeadLetters
from stonks.queues.messages import QueueMessage
from stonks.queues.outbox import Command, Outbox
from stonks.queues.producer import Producer
from stonks.queues.stats import GroupStats, QueueStats, queue_stats
from stonks.queues.toggle import PipelineToggle

__all__ = [
    "DEFAULT_GROUP",
    "Command",
    "Consumer",
    "ConsumerConfig",
    "ConsumerStats",
    "DeadLetter",
    "DeadLetters",
    "Delivery",
    "GroupStats",
    "Handler",
    "Outbox",
    "PipelineToggle",
    "Producer",
    "QueueMessage",
    "QueueStats",
    "queue_stats",
]
