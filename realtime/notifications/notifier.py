"""Dispatching notifications: rate limited per channel, off the trading thread.

``notify`` only enqueues on a small thread pool, so a slow or failing channel never blocks
the caller; per-channel limits are a Redis counter per minute
(``stonks:trading:notification_rate:<channel>``), shared by every worker process.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import redis

from realtime.notifications.channels import Channel, EmailChannel, SnsChannel
from stonks import redis_keys
from stonks.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    kind: str  # 'circuit_breaker', 'fill', 'stop_loss'
    subject: str
    body: str


class Notifier:
    """Sends notifications to every channel within its rate limit."""

    def __init__(self, client: redis.Redis, channels: list[Channel], per_minute: int) -> None:
        self.client = client
        self.channels = channels
        self.per_minute = per_minute
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="notify")

    def notify(self, notification: Notification) -> list[Future[bool]]:
        """Queue delivery on every channel; returns futures (True = delivered)."""
        return [self._pool.submit(self._deliver, channel, notification)
                for channel in self.channels]

    def _allowed(self, channel: str) -> bool:
        key = f"{redis_keys.notification_rate(channel)}:{int(time.time() // 60)}"
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        return int(count) <= self.per_minute

    def _deliver(self, channel: Channel, notification: Notification) -> bool:
        try:
            if not self._allowed(channel.name):
                logger.warning("notification rate limited", extra={"channel": channel.name,
                                                                    "kind": notification.kind})
                return False
            channel.send(notification.subject, notification.body)
            return True
        except Exception as exc:  # a channel must never take trading down with it
            logger.warning("notification failed", extra={"channel": channel.name,
                                                          "error": str(exc)})
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def notifier_from_settings(settings: Settings, client: redis.Redis) -> Notifier | None:
    """The configured channels, or None when no channel is configured."""
    channels: list[Channel] = []
    if settings.notify_sms_numbers or settings.notify_sns_topic_arn:
        channels.append(SnsChannel(
            phone_numbers=settings.notify_sms_numbers, topic_arn=settings.notify_sns_topic_arn,
            region=settings.sns_region, endpoint_url=settings.sns_endpoint_url,
            timeout_s=settings.sns_timeout_s))
    if settings.smtp_host and settings.notify_email_to:
        channels.append(EmailChannel(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
            recipients=settings.notify_email_to, username=settings.smtp_username,
            password=(settings.smtp_password.get_secret_value()
                      if settings.smtp_password else None),
            starttls=settings.smtp_starttls, timeout_s=settings.smtp_timeout_s,
            ca_file=settings.smtp_ca_file))
    return Notifier(client, channels, settings.notify_rate_per_minute) if channels else None
