"""The consumer loop in-process against a real Redis: acks, DLQ, retries, reclaim, toggle."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest
import redis

from stonks import redis_keys
from stonks.queues import (
    DEFAULT_GROUP,
    Consumer,
    ConsumerConfig,
    DeadLetters,
    Delivery,
    PipelineToggle,
    Producer,
    QueueMessage,
)

QUEUE = "test_consumer"


class Job(QueueMessage):
    SCHEMA = "test.job"

    n: int


class Recorder:
    """Handler that records what it saw and fails for chosen values of ``n``."""

    def __init__(self, fail_on: set[int] | None = None, fail_times: int = 10**9) -> None:
        self.seen: list[tuple[int, int]] = []
        self.done: list[int] = []
        self.fail_on = fail_on or set()
        self.fail_times = fail_times
        self.failures = 0

    def __call__(self, deliveries: Sequence[Delivery[Job]]) -> None:
        for d in deliveries:
            self.seen.append((d.message.n, d.delivery_count))
            if d.message.n in self.fail_on and self.failures < self.fail_times:
                self.failures += 1
                raise RuntimeError(f"cannot handle {d.message.n}")
        self.done.extend(d.message.n for d in deliveries)


def make_consumer(
    client: redis.Redis, handler: Recorder, name: str = "c1", **config: object
) -> Consumer[Job]:
    settings = {
        "block_ms": 20,
        "retry_base_s": 0.01,
        "retry_max_s": 0.02,
        "reclaim_interval_s": 0.0,
        "pause_poll_s": 0.01,
    }
    settings.update(config)
    consumer = Consumer(
        client,
        QUEUE,
        Job,
        handler,
        consumer_name=name,
        config=ConsumerConfig(**settings),  # type: ignore[arg-type]
    )
    consumer.ensure_group()
    return consumer


def drain(
    consumer: Consumer[Job], rounds: int = 50, until: Callable[[], bool] | None = None
) -> None:
    """Run the loop ``rounds`` times, or until ``until()`` holds (failing after 10 s)."""
    if until is None:
        for _ in range(rounds):
            consumer.run_once()
        return
    deadline = time.monotonic() + 10
    while not until():
        assert time.monotonic() < deadline, "condition not reached within 10 s"
        consumer.run_once()


def pending_count(client: redis.Redis) -> int:
    return int(client.xpending(redis_keys.queue(QUEUE), DEFAULT_GROUP)["pending"])


def test_handled_messages_are_acknowledged_and_removed(redis_client: redis.Redis) -> None:
    handler = Recorder()
    consumer = make_consumer(redis_client, handler)
    Producer(redis_client, QUEUE).publish_many(Job(n=i) for i in range(250))
    drain(consumer, 5)
    assert sorted(handler.done) == list(range(250))
    assert pending_count(redis_client) == 0
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 0


def test_a_failing_message_stays_pending_until_it_succeeds(redis_client: redis.Redis) -> None:
    handler = Recorder(fail_on={7}, fail_times=2)
    consumer = make_consumer(redis_client, handler, max_deliveries=5)
    Producer(redis_client, QUEUE).publish(Job(n=7))
    consumer.run_once()
    assert handler.done == []
    assert pending_count(redis_client) == 1, "a failed message must not be acknowledged"
    drain(consumer, until=lambda: bool(handler.done))
    assert handler.done == [7]
    assert [count for n, count in handler.seen if n == 7] == [1, 2, 3]
    assert pending_count(redis_client) == 0
    assert consumer.stats.retried == 2


def test_a_message_that_keeps_failing_is_dead_lettered_with_its_error(
    redis_client: redis.Redis,
) -> None:
    handler = Recorder(fail_on={3})
    consumer = make_consumer(redis_client, handler, max_deliveries=3)
    Producer(redis_client, QUEUE).publish(Job(n=3, message_id="poison"))
    drain(consumer, until=lambda: consumer.stats.dead_lettered == 1)
    assert [count for _, count in handler.seen] == [1, 2, 3]
    letters = DeadLetters(redis_client, QUEUE).oldest()
    assert len(letters) == 1
    assert "failed 3 times" in letters[0].error
    assert "RuntimeError: cannot handle 3" in letters[0].error
    assert '"message_id":"poison"' in letters[0].body_preview
    assert pending_count(redis_client) == 0
    assert redis_client.zcard(redis_keys.retry(QUEUE)) == 0


def test_a_failure_in_a_batch_does_not_hold_back_the_other_messages(
    redis_client: redis.Redis,
) -> None:
    handler = Recorder(fail_on={5}, fail_times=2)  # fails in the batch and alone
    consumer = make_consumer(redis_client, handler)
    Producer(redis_client, QUEUE).publish_many(Job(n=i) for i in range(10))
    consumer.run_once()
    assert sorted(handler.done) == [i for i in range(10) if i != 5]
    drain(consumer, until=lambda: len(handler.done) == 10)
    assert sorted(handler.done) == list(range(10))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"schema": "test.job", "v": "1", "body": "{not json"}, "invalid test.job"),
        ({"schema": "test.job", "v": "1", "body": '{"n": "seven"}'}, "n: Input should be"),
        ({"garbage": "x"}, "lacks the schema/body"),
    ],
)
def test_a_malformed_message_goes_to_the_dlq_and_the_consumer_keeps_going(
    redis_client: redis.Redis, fields: dict[str, str], reason: str
) -> None:
    handler = Recorder()
    consumer = make_consumer(redis_client, handler)
    producer = Producer(redis_client, QUEUE)
    producer.publish(Job(n=1))
    redis_client.xadd(redis_keys.queue(QUEUE), fields)  # type: ignore[arg-type]
    producer.publish(Job(n=2))
    drain(consumer, 3)
    assert handler.done == [1, 2]
    letters = DeadLetters(redis_client, QUEUE).oldest()
    assert len(letters) == 1
    assert reason in letters[0].error
    assert letters[0].original == {k.encode(): v.encode() for k, v in fields.items()}
    assert pending_count(redis_client) == 0


def test_replayed_dead_letters_are_handled_again(redis_client: redis.Redis) -> None:
    handler = Recorder(fail_on={9}, fail_times=2)
    consumer = make_consumer(redis_client, handler, max_deliveries=2)
    Producer(redis_client, QUEUE).publish(Job(n=9))
    drain(consumer, until=lambda: consumer.stats.dead_lettered == 1)
    dead = DeadLetters(redis_client, QUEUE)
    assert dead.count() == 1 and handler.done == []
    assert dead.replay() == 1
    assert dead.replay() == 0, "a dead letter is replayed once"
    drain(consumer, 3)
    assert handler.done == [9]
    assert dead.count() == 0


def test_entries_of_a_dead_consumer_are_reclaimed_by_a_live_one(
    redis_client: redis.Redis,
) -> None:
    Producer(redis_client, QUEUE).publish_many(Job(n=i) for i in range(5))
    ghost = make_consumer(redis_client, Recorder(), name="ghost")
    # The ghost reads but dies before handling: entries are pending under its name.
    ghost._read_new()
    assert pending_count(redis_client) == 5

    survivor_handler = Recorder()
    survivor = make_consumer(
        redis_client, survivor_handler, name="survivor", visibility_timeout_s=0.05
    )
    survivor.run_once()
    assert survivor_handler.done == [], "entries are not reclaimed before the timeout"
    time.sleep(0.1)
    survivor.run_once()
    assert sorted(survivor_handler.done) == list(range(5))
    assert {count for _, count in survivor_handler.seen} == {2}
    assert pending_count(redis_client) == 0


def test_an_entry_redelivered_past_the_budget_is_dead_lettered(redis_client: redis.Redis) -> None:
    Producer(redis_client, QUEUE).publish(Job(n=1))
    # Two consumers take the entry and die without acknowledging it (deliveries 1 and 2).
    make_consumer(redis_client, Recorder(), name="crash1")._read_new()
    time.sleep(0.02)
    assert make_consumer(
        redis_client, Recorder(), name="crash2", visibility_timeout_s=0.01
    )._reclaim_idle()
    time.sleep(0.02)
    handler = Recorder()
    last = make_consumer(
        redis_client, handler, name="last", visibility_timeout_s=0.01, max_deliveries=2
    )
    last.run_once()
    assert handler.done == [], "a message that keeps killing workers is not handled again"
    letters = DeadLetters(redis_client, QUEUE).oldest()
    assert len(letters) == 1
    assert "without being acknowledged" in letters[0].error
    assert pending_count(redis_client) == 0


def test_the_pipeline_toggle_pauses_consumers_without_losing_messages(
    redis_client: redis.Redis,
) -> None:
    handler = Recorder()
    consumer = make_consumer(redis_client, handler)
    toggle = PipelineToggle(redis_client)
    toggle.disable()
    assert not toggle.is_enabled()
    Producer(redis_client, QUEUE).publish_many(Job(n=i) for i in range(20))
    drain(consumer, 5)
    assert handler.done == []
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 20
    toggle.enable()
    drain(consumer, 2)
    assert sorted(handler.done) == list(range(20))


def test_run_returns_when_stopped(redis_client: redis.Redis) -> None:
    handler = Recorder()
    consumer = make_consumer(redis_client, handler)
    Producer(redis_client, QUEUE).publish(Job(n=1))
    stats = consumer.run(max_idle_polls=2)
    assert stats.handled == 1
    assert pending_count(redis_client) == 0, "the loop acknowledges its last batch on the way out"
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 0


def test_the_loop_acknowledges_a_batch_with_the_next_read(redis_client: redis.Redis) -> None:
    handler = Recorder()
    consumer = make_consumer(redis_client, handler)
    Producer(redis_client, QUEUE).publish_many(Job(n=i) for i in range(3))
    consumer._iterate()
    assert handler.done == [0, 1, 2]
    assert pending_count(redis_client) == 3, "the acknowledgement waits for the next read"
    Producer(redis_client, QUEUE).publish(Job(n=3))
    consumer._iterate()
    assert handler.done == [0, 1, 2, 3]
    assert pending_count(redis_client) == 1, "the first batch went out with the second read"
    assert redis_client.xlen(redis_keys.queue(QUEUE)) == 1


class FlagReader(Recorder):
    """A handler that reads a flag with each batch, on the consumer's read pipeline."""

    KEY = "test_consumer:flag"

    def __init__(self) -> None:
        super().__init__()
        self.flag: object = None
        self.flags_seen: list[object] = []

    def queue_reads(self, pipe: redis.client.Pipeline) -> int:
        pipe.get(self.KEY)
        return 1

    def take_replies(self, replies: Sequence[object] | None) -> None:
        self.flag = None if replies is None else replies[0]

    def __call__(self, deliveries: Sequence[Delivery[Job]]) -> None:
        self.flags_seen.append(self.flag)
        super().__call__(deliveries)


def test_reads_sent_along_with_the_batch_reach_the_handler_and_expire_after_it(
    redis_client: redis.Redis,
) -> None:
    handler = FlagReader()
    consumer = Consumer(redis_client, QUEUE, Job, handler, consumer_name="c1",
                        config=ConsumerConfig(block_ms=20), read_along=handler)
    consumer.ensure_group()
    redis_client.set(FlagReader.KEY, "first")
    Producer(redis_client, QUEUE).publish(Job(n=1))
    consumer.run_once()
    redis_client.set(FlagReader.KEY, "second")
    Producer(redis_client, QUEUE).publish(Job(n=2))
    consumer.run_once()
    assert handler.done == [1, 2]
    assert handler.flags_seen == [b"first", b"second"]
    assert handler.flag is None, "a read serves the iteration it came with only"
