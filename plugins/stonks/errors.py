"""The exception tree of the ``stonks`` library; callers catch these, never a driver's errors."""

from __future__ import annotations


class StonksError(Exception):
    """Base of every error this library raises on purpose."""


class ConfigurationError(StonksError):
    """Settings are missing or invalid; the message names the environment variable."""


class ServiceError(StonksError):
    """An embedded or external service could not be started, reached or stopped."""


class QueueError(StonksError):
    """A queue operation failed."""


class MessageRejected(QueueError):
    """A queue entry cannot be decoded or validated; it belongs in the dead-letter queue."""


class LockNotAcquired(StonksError):
    """A distributed lock is held by someone else."""


class LockLost(StonksError):
    """A lock expired or was taken by another owner before it was released or extended."""
