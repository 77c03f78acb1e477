"""The broker boundary's one exception tree; adapters map their libraries' errors onto it."""

from __future__ import annotations

from realtime.errors import RealtimeError


class BrokerError(RealtimeError):
    """Anything the broker adapter could not do."""


class BrokerUnavailable(BrokerError):
    """The broker could not be reached or answered 5xx/429: the outcome is unknown."""


class BrokerTimeout(BrokerUnavailable):
    """The request timed out: it may or may not have been applied."""


class OrderRejected(BrokerError):
    """The broker (or our risk engine) refused the order; retrying will not help."""


class BrokerAuthError(BrokerError):
    """The broker refused our credentials."""


class NotReconciled(BrokerError):
    """Our state and the broker's differ (or were never compared): trading waits."""
