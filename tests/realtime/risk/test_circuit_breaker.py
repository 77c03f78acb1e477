"""The circuit breaker's state read along with a consumer's batch: used once, by the
thread handling the batch; any other read goes to Redis."""

from __future__ import annotations

import threading

import redis

from realtime.risk.circuit_breaker import BreakerState, CircuitBreaker

TRIPPED = {b"tripped": b"1", b"breaker": b"daily_loss", b"reason": b"lost 3%"}


def test_the_state_read_with_the_batch_serves_that_thread_once(
        redis_client: redis.Redis) -> None:
    breaker = CircuitBreaker(redis_client, "read-along")  # not tripped in Redis
    pipe = redis_client.pipeline(transaction=False)
    assert breaker.queue_reads(pipe) == 1 and pipe.execute() == [{}]
    breaker.take_replies([TRIPPED])
    elsewhere: list[BreakerState] = []
    thread = threading.Thread(target=lambda: elsewhere.append(breaker.batch_state()))
    thread.start()
    thread.join()
    assert elsewhere == [BreakerState(False)], "another thread reads its own"
    assert breaker.batch_state() == BreakerState(True, "daily_loss", "lost 3%")
    assert breaker.batch_state() == BreakerState(False), "used once, then read afresh"


def test_a_batch_done_leaves_no_state_behind(redis_client: redis.Redis) -> None:
    breaker = CircuitBreaker(redis_client, "read-along")
    breaker.take_replies([TRIPPED])
    breaker.take_replies(None)
    assert breaker.batch_state() == BreakerState(False)
