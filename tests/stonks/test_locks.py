from __future__ import annotations

import time

import pytest
import redis

from stonks.errors import LockLost, LockNotAcquired
from stonks.locks import DistributedLock


def test_a_held_lock_excludes_other_owners(redis_client: redis.Redis) -> None:
    first = DistributedLock(redis_client, "ingest", ttl_s=5)
    second = DistributedLock(redis_client, "ingest", ttl_s=5)
    with first:
        assert not second.acquire(blocking=False)
        with pytest.raises(LockNotAcquired), DistributedLock(redis_client, "ingest", wait_s=0.1):
            pass
    assert second.acquire(blocking=False)
    second.release()


def test_an_expired_lock_can_be_taken_and_the_old_owner_cannot_release_it(
    redis_client: redis.Redis,
) -> None:
    old = DistributedLock(redis_client, "job", ttl_s=0.05)
    assert old.acquire(blocking=False)
    time.sleep(0.1)
    new = DistributedLock(redis_client, "job", ttl_s=5)
    assert new.acquire(blocking=False)
    with pytest.raises(LockLost):
        old.release()
    assert redis_client.exists(new.key), "the new owner's lock must survive"
    with pytest.raises(LockLost):
        old.extend()
    new.release()
    assert not redis_client.exists(new.key)


def test_extend_keeps_the_lock_alive(redis_client: redis.Redis) -> None:
    lock = DistributedLock(redis_client, "long", ttl_s=0.2)
    assert lock.acquire(blocking=False)
    lock.extend(5)
    time.sleep(0.3)
    assert not DistributedLock(redis_client, "long").acquire(blocking=False)
    lock.release()


def test_blocking_acquire_waits_for_release(redis_client: redis.Redis) -> None:
    holder = DistributedLock(redis_client, "wait", ttl_s=0.15)
    holder.acquire()
    waiter = DistributedLock(redis_client, "wait", ttl_s=5)
    started = time.monotonic()
    assert waiter.acquire(timeout_s=2)
    assert time.monotonic() - started >= 0.1
    waiter.release()
