"""A consumer process for the multi-process queue tests (run with python -m)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import sqlalchemy as sa

from stonks.queues import Consumer, ConsumerConfig
from stonks.redis_client import connect
from tests.stonks.queues.effects import QUEUE, EffectHandler, EffectMessage


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--visibility-timeout", type=float, default=30.0)
    parser.add_argument("--reclaim-interval", type=float, default=5.0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--marker-dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    engine = sa.create_engine(args.database_url)
    client = connect(args.redis_url, socket_timeout=30)
    config = ConsumerConfig(
        batch_size=args.batch_size,
        block_ms=200,
        visibility_timeout_s=args.visibility_timeout,
        reclaim_interval_s=args.reclaim_interval,
        retry_base_s=0.05,
    )
    consumer = Consumer(
        client,
        QUEUE,
        EffectMessage,
        EffectHandler(engine, args.name, args.marker_dir),
        consumer_name=args.name,
        config=config,
    )
    consumer.install_signal_handlers()
    consumer.run()
    engine.dispose()


if __name__ == "__main__":
    main()
