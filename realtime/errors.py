"""Domain errors of the real-time tier; the API maps them to HTTP in one handler."""

from __future__ import annotations

from stonks.errors import StonksError


class RealtimeError(StonksError):
    """Base of the real-time tier's domain errors."""


class NotFound(RealtimeError):
    """The requested thing does not exist."""


class Conflict(RealtimeError):
    """The request conflicts with the current state (e.g. approving a filled order)."""


class InvalidRequest(RealtimeError):
    """The request is well-formed but not acceptable."""
