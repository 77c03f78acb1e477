"""Delivery channels: SNS (boto3) for SMS and topics, SMTP with STARTTLS for email."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from realtime.errors import RealtimeError


class NotificationFailed(RealtimeError):
    """A channel could not deliver (logged; never blocks trading)."""


class Channel(Protocol):
    name: str

    def send(self, subject: str, body: str) -> None: ...


class SnsChannel:
    """SMS to phone numbers and/or a publish to a topic, through Amazon SNS."""

    name = "sms"

    def __init__(self, *, phone_numbers: list[str], topic_arn: str | None, region: str,
                 endpoint_url: str | None, timeout_s: float) -> None:
        self.phone_numbers = phone_numbers
        self.topic_arn = topic_arn
        config = Config(connect_timeout=timeout_s, read_timeout=timeout_s,
                        retries={"max_attempts": 1})
        self.client: Any = boto3.client("sns", region_name=region, endpoint_url=endpoint_url,
                                        config=config)

    def send(self, subject: str, body: str) -> None:
        text = f"{subject}: {body}"[:1600]
        try:
            for number in self.phone_numbers:
                self.client.publish(PhoneNumber=number, Message=text)
            if self.topic_arn:
                self.client.publish(TopicArn=self.topic_arn, Subject=subject[:100], Message=text)
        except (BotoCoreError, ClientError) as exc:
            raise NotificationFailed(f"sns: {exc}") from exc


class EmailChannel:
    """Email over SMTP, upgraded with STARTTLS (required unless disabled)."""

    name = "email"

    def __init__(self, *, host: str, port: int, sender: str, recipients: list[str],
                 username: str | None, password: str | None, starttls: bool,
                 timeout_s: float, ca_file: Path | None = None) -> None:
        self.host, self.port, self.sender, self.recipients = host, port, sender, recipients
        self.username, self.password = username, password
        self.starttls, self.timeout_s, self.ca_file = starttls, timeout_s, ca_file

    def send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = subject
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    context = ssl.create_default_context(
                        cafile=str(self.ca_file) if self.ca_file else None)
                    smtp.starttls(context=context)
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationFailed(f"smtp: {exc}") from exc
