"""SMTP with STARTTLS against aiosmtpd and SNS against moto_server, both started here."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from realtime.notifications import EmailChannel, Notification, Notifier, SnsChannel
from tests.harness.postgres import free_port


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(message)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def smtp_server(tls_files: tuple[Path, Path]) -> Iterator[tuple[int, Inbox]]:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def email(port: int, cert: Path) -> EmailChannel:
    return EmailChannel(host="127.0.0.1", port=port, sender="stonks@example.com",
                        recipients=["desk@example.com"], username=None, password=None,
                        starttls=True, timeout_s=5, ca_file=cert)


def test_email_is_delivered_over_starttls(
    smtp_server: tuple[int, Inbox], tls_files: tuple[Path, Path], redis_client: redis.Redis,
) -> None:
    port, inbox = smtp_server
    notifier = Notifier(redis_client, [email(port, tls_files[0])], per_minute=10)
    [future] = notifier.notify(Notification("fill", "Filled buy AAPL", "19 AAPL @ 261.88"))
    assert future.result(timeout=10) is True
    notifier.close()
    [message] = inbox.messages
    assert message["Subject"] == "Filled buy AAPL"  # type: ignore[index]


def test_sns_sms_and_topic_reach_moto(moto_url: str, redis_client: redis.Redis) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    sns = boto3.client("sns", region_name="us-east-1", endpoint_url=moto_url)
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_url)
    topic = sns.create_topic(Name="stonks-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="desk")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    channel = SnsChannel(phone_numbers=["+15555550100"], topic_arn=topic, region="us-east-1",
                         endpoint_url=moto_url, timeout_s=5)
    notifier = Notifier(redis_client, [channel], per_minute=10)
    [future] = notifier.notify(Notification("circuit_breaker", "Circuit breaker tripped",
                                            "daily_loss 0.03 reached the limit 0.02"))
    assert future.result(timeout=10) is True
    notifier.close()
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert "daily_loss" in json.loads(received[0]["Body"])["Message"]


def test_rate_limit_and_a_dead_channel_never_block_or_raise(redis_client: redis.Redis) -> None:
    dead = EmailChannel(host="127.0.0.1", port=free_port(), sender="s@example.com",
                        recipients=["d@example.com"], username=None, password=None,
                        starttls=True, timeout_s=1)
    notifier = Notifier(redis_client, [dead], per_minute=2)
    started = time.perf_counter()
    futures = [f for _ in range(4) for f in notifier.notify(Notification("fill", "s", "b"))]
    assert time.perf_counter() - started < 0.1  # notify only enqueues
    assert [f.result(timeout=10) for f in futures] == [False] * 4
    notifier.close()
    counted = [int(v) for k in redis_client.keys("stonks:trading:notification_rate:email*")
               if (v := redis_client.get(k)) is not None]
    assert counted == [4]
