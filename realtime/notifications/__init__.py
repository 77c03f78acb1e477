"""Notifications (SNS SMS/topic, SMTP email) for breaker trips, fills and stop-loss triggers."""

from realtime.notifications.channels import Channel, EmailChannel, SnsChannel
from realtime.notifications.notifier import Notification, Notifier, notifier_from_settings

__all__ = [
    "Channel",
    "EmailChannel",
    "Notification",
    "Notifier",
    "SnsChannel",
    "notifier_from_settings",
]
