"""Queue library benchmark against a real redis-server.

* one hop: a producer process XADDs timestamped messages; a consumer process running the
  library's Consumer (blocking batched reads, decode, handler, ack) records when it has each;
  CLOCK_MONOTONIC is shared by processes on Linux, so the two clocks agree.
* throughput: a pre-filled stream drained by 2 consumer processes in one consumer group,
  decode + handler + XACK/XDEL included.

Usage: .venv/bin/python benchmarks/bench_queues.py [--quick] [--redis-url URL]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import redis

from stonks import redis_keys
from stonks.embedded import RedisServer
from stonks.queues import Consumer, ConsumerConfig, Delivery, Producer, QueueMessage
from stonks.queues.messages import Fields

HOP_QUEUE = "bench_hop"
DRAIN_QUEUE = "bench_drain"


class Tick(QueueMessage):
    SCHEMA = "bench.tick"

    sent_ns: int
    ticker: str = "AAPL"


def hop_consumer(url: str, count: int, ready: mp.synchronize.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    client = redis.Redis.from_url(url, socket_timeout=30)
    latencies: list[int] = []

    def handle(deliveries: Sequence[Delivery[Tick]]) -> None:
        now = time.monotonic_ns()
        latencies.extend(now - d.message.sent_ns for d in deliveries)

    config = ConsumerConfig(block_ms=1000, reclaim_interval_s=3600)
    consumer = Consumer(client, HOP_QUEUE, Tick, handle, consumer_name="hop", config=config)
    consumer.ensure_group()
    consumer.run_once()  # first reclaim scan out of the way
    ready.set()
    while len(latencies) < count:
        consumer.run_once()
    out.put(latencies)


def bare_hop_consumer(url: str, count: int, ready: mp.synchronize.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """The peer: raw redis-py XREADGROUP BLOCK + XACK, no decoding, no library."""
    client = redis.Redis.from_url(url, socket_timeout=30)
    stream = redis_keys.queue(HOP_QUEUE)
    client.xgroup_create(stream, "bare", id="$", mkstream=True)
    latencies: list[int] = []
    ready.set()
    while len(latencies) < count:
        response = client.xreadgroup("bare", "bare", {stream: ">"}, count=100, block=1000)
        now = time.monotonic_ns()
        for _, entries in response or []:
            for entry_id, fields in entries:
                latencies.append(now - json.loads(fields[b"body"])["sent_ns"])
                client.xack(stream, "bare", entry_id)
    out.put(latencies)


def measure_hop(
    url: str, count: int, spacing_s: float, target: object = hop_consumer
) -> tuple[float, float]:
    redis.Redis.from_url(url).delete(redis_keys.queue(HOP_QUEUE))
    ready = mp.Event()
    out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    worker = mp.Process(target=target, args=(url, count, ready, out))
    worker.start()
    ready.wait(30)
    client = redis.Redis.from_url(url)
    producer = Producer(client, HOP_QUEUE)
    for _ in range(count):
        producer.publish(Tick(sent_ns=time.monotonic_ns()))
        time.sleep(spacing_s)  # sleep, not spin: leave the cores to Redis and the consumer
    latencies = out.get(timeout=60)
    worker.join(30)
    samples = sorted(latencies[len(latencies) // 10:])  # drop warm-up
    p50 = statistics.median(samples) / 1000
    p99 = samples[int(len(samples) * 0.99) - 1] / 1000
    return p50, p99


def drain_consumer(
    url: str, name: str, start: mp.synchronize.Event, out: mp.Queue  # type: ignore[type-arg]
) -> None:
    client = redis.Redis.from_url(url, socket_timeout=30)
    handled = 0

    def handle(deliveries: Sequence[Delivery[Tick]]) -> None:
        nonlocal handled
        handled += len(deliveries)

    config = ConsumerConfig(batch_size=200, block_ms=50, reclaim_interval_s=3600)
    consumer = Consumer(client, DRAIN_QUEUE, Tick, handle, consumer_name=name, config=config)
    gc.disable()
    start.wait(60)
    last_work_ns = time.monotonic_ns()
    while True:
        if consumer.run_once() == 0:
            break
        last_work_ns = time.monotonic_ns()
    out.put((name, handled, last_work_ns))


def fill(client: redis.Redis, total: int) -> None:
    body = Tick(sent_ns=0).to_fields()
    fields: Fields = {k.encode(): v.encode() for k, v in body.items()}
    stream = redis_keys.queue(DRAIN_QUEUE)
    pipe = client.pipeline(transaction=False)
    for i in range(total):
        pipe.xadd(stream, fields)  # type: ignore[arg-type]
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


def measure_throughput(url: str, total: int) -> float:
    client = redis.Redis.from_url(url)
    client.delete(redis_keys.queue(DRAIN_QUEUE))
    client.xgroup_create(redis_keys.queue(DRAIN_QUEUE), "workers", id="0", mkstream=True)
    fill(client, total)
    start = mp.Event()
    out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    workers = [
        mp.Process(target=drain_consumer, args=(url, f"drain-{i}", start, out)) for i in range(2)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # let both processes import and connect
    t0 = time.monotonic_ns()
    start.set()
    results = [out.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(30)
    handled = sum(r[1] for r in results)
    if handled != total or client.xlen(redis_keys.queue(DRAIN_QUEUE)) != 0:
        raise SystemExit(f"drain lost messages: handled {handled} of {total}")
    elapsed_s = (max(r[2] for r in results) - t0) / 1e9
    print(f"  per consumer: {', '.join(f'{r[0]}={r[1]}' for r in results)}")
    return total / elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (a few seconds)")
    parser.add_argument("--redis-url", help="use this server instead of starting one")
    args = parser.parse_args()
    hop_count, drain_total = (2_000, 100_000) if args.quick else (10_000, 400_000)

    server = None
    url = args.redis_url
    if url is None:
        server = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-")), persistent=False)
        url = server.start().url
    try:
        version = redis.Redis.from_url(url).info("server")["redis_version"]
        print(f"redis {version} at {url}")
        bare_p50, bare_p99 = measure_hop(url, hop_count, 0.0005, target=bare_hop_consumer)
        print(f"peer, bare redis-py hop, {hop_count} msgs: p50 {bare_p50:.0f} us, "
              f"p99 {bare_p99:.0f} us")
        p50, p99 = measure_hop(url, hop_count, spacing_s=0.0005)
        print(f"one hop (XADD -> consumer has it), {hop_count} msgs: p50 {p50:.0f} us, "
              f"p99 {p99:.0f} us (targets: p50 <= 300 us); "
              f"ratio to bare p50 {p50 / bare_p50:.2f}")
        throughput = measure_throughput(url, drain_total)
        print(f"throughput, 2 consumer processes, {drain_total} msgs, ack included: "
              f"{throughput:,.0f} msg/s (target >= 50,000)")
    finally:
        if server is not None:
            server.stop()
    print(json.dumps({
        "one_hop_p50_us": round(p50, 1),
        "one_hop_p99_us": round(p99, 1),
        "bare_redis_hop_p50_us": round(bare_p50, 1),
        "hop_p50_ratio_vs_bare": round(p50 / bare_p50, 2),
        "throughput_msgs_per_s": round(throughput),
        "hop_messages": hop_count,
        "throughput_messages": drain_total,
    }))


if __name__ == "__main__":
    main()
