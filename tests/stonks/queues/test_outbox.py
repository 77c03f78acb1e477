"""A handler's hand-offs through the consumer's outbox: sent with the batch's
acknowledgement, dropped with a failed batch, sent at once outside a handler call."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import redis

from stonks import redis_keys
from stonks.queues import Command, Consumer, ConsumerConfig, Delivery, Outbox, Producer
from tests.stonks.queues.test_consumer import Job

QUEUE = "test_outbox_in"
NEXT = redis_keys.queue("test_outbox_next")


class HandingOn:
    """Publishes one entry per message to the next stream, then fails for ``n`` in
    ``failures`` as many times as it says."""

    def __init__(self, client: redis.Redis, outbox: Outbox, failures: dict[int, int]) -> None:
        self.client, self.outbox, self.failures = client, outbox, dict(failures)
        self.next_length_during: list[int] = []

    def __call__(self, deliveries: Sequence[Delivery[Job]]) -> None:
        self.outbox.publish(self.client, [(NEXT, {"n": str(d.message.n)})
                                          for d in deliveries])
        self.next_length_during.append(int(self.client.xlen(NEXT)))
        failing = sorted(d.message.n for d in deliveries if self.failures.get(d.message.n))
        for n in failing:
            self.failures[n] -= 1
        if failing:
            raise RuntimeError(f"cannot hand on {failing}")


def _consumer(client: redis.Redis, failures: dict[int, int] | None = None) -> tuple[
        Consumer[Job], HandingOn]:
    outbox = Outbox()
    handler = HandingOn(client, outbox, failures or {})
    config = ConsumerConfig(block_ms=20, retry_base_s=0.01, retry_max_s=0.02,
                            reclaim_interval_s=0.0)
    consumer = Consumer(client, QUEUE, Job, handler, consumer_name="c1", config=config,
                        outbox=outbox)
    consumer.ensure_group()
    return consumer, handler


def _handed_on(client: redis.Redis) -> list[int]:
    entries: Any = client.xrange(NEXT)
    return [int(fields[b"n"]) for _, fields in entries]


def test_hand_offs_go_out_with_the_acknowledgement_not_before(
        redis_client: redis.Redis) -> None:
    consumer, handler = _consumer(redis_client)
    Producer(redis_client, QUEUE).publish_many([Job(n=1), Job(n=2)])
    consumer.run_once()
    assert handler.next_length_during == [0], "nothing sent while the handler runs"
    assert _handed_on(redis_client) == [1, 2]
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 0, "acknowledged and deleted"


def test_a_failed_message_hands_nothing_on_until_its_retry_succeeds(
        redis_client: redis.Redis) -> None:
    # 2 fails in the batch and again alone (the batch is split to isolate it): retried.
    consumer, _ = _consumer(redis_client, failures={2: 2})
    Producer(redis_client, QUEUE).publish_many([Job(n=1), Job(n=2), Job(n=3)])
    consumer.run_once()
    assert _handed_on(redis_client) == [1, 3], "the others' hand-offs are kept"
    deadline = time.monotonic() + 5
    while 2 not in _handed_on(redis_client) and time.monotonic() < deadline:
        consumer.run_once()
    assert _handed_on(redis_client) == [1, 3, 2], "the retry hands on once"


def test_outside_a_handler_call_publishing_is_immediate(redis_client: redis.Redis) -> None:
    outbox = Outbox()
    outbox.publish(redis_client, [(NEXT, {"n": "7"})])
    assert _handed_on(redis_client) == [7]
    consumer, _ = _consumer(redis_client)
    other: list[bool] = []
    outbox = consumer.outbox
    outbox.open()  # as inside a handler call on this thread: another thread is not
    try:
        def elsewhere() -> None:
            other.append(outbox.collecting)
            outbox.publish(redis_client, [(NEXT, {"n": "8"})])

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    finally:
        outbox.close()
    assert other == [False] and _handed_on(redis_client) == [7, 8]


def test_other_writes_follow_the_hand_offs_in_the_same_round_trip(
        redis_client: redis.Redis) -> None:
    outbox = Outbox()
    seen: list[tuple[int, int]] = []

    def handler(deliveries: Sequence[Delivery[Job]]) -> None:
        outbox.publish(redis_client, [(NEXT, {"n": str(d.message.n)}) for d in deliveries])
        outbox.send(redis_client, [Command(("SET", f"test_outbox:done:{d.message.n}", "1"))
                                   for d in deliveries])
        seen.append((int(redis_client.xlen(NEXT)), int(redis_client.exists("test_outbox:done:1"))))

    consumer = Consumer(redis_client, QUEUE, Job, handler, consumer_name="c1", outbox=outbox,
                        config=ConsumerConfig(block_ms=20))
    consumer.ensure_group()
    Producer(redis_client, QUEUE).publish_many([Job(n=1), Job(n=2)])
    consumer.run_once()
    assert seen == [(0, 0)], "nothing sent while the handler runs"
    assert _handed_on(redis_client) == [1, 2]
    assert redis_client.mget(["test_outbox:done:1", "test_outbox:done:2"]) == [b"1", b"1"]
    outbox.send(redis_client, [Command(("SET", "test_outbox:done:3", "1"))])  # outside: now
    assert redis_client.get("test_outbox:done:3") == b"1"
