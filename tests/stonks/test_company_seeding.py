"""Companies seeded through the ingestion queue into a migrated PostgreSQL database."""

from __future__ import annotations

import redis
import sqlalchemy as sa

from stonks.company_seeding import CompanyListing, CompanyUpserter, listings
from stonks.queues import Consumer, ConsumerConfig, Producer
from stonks.universe import load_universe

QUEUE = "test_ingestion"


def consume(client: redis.Redis, engine: sa.Engine) -> int:
    consumer = Consumer(
        client,
        QUEUE,
        CompanyListing,
        CompanyUpserter(engine),
        consumer_name="t",
        config=ConsumerConfig(block_ms=20),
    )
    return consumer.run(max_idle_polls=1).handled


def test_universe_lands_once_and_redelivery_changes_nothing(
    migrated_pg_url: str, redis_client: redis.Redis
) -> None:
    engine = sa.create_engine(migrated_pg_url)
    universe = load_universe()
    messages = listings(universe, tracked=["AAPL", "MSFT"])
    Producer(redis_client, QUEUE).publish_many(messages)
    assert consume(redis_client, engine) == len(universe)
    Producer(redis_client, QUEUE).publish_many(messages[:50])  # a redelivered batch
    assert consume(redis_client, engine) == 50
    with engine.connect() as conn:
        count = conn.execute(sa.text("select count(*) from companies")).scalar_one()
        tracked = (
            conn.execute(sa.text("select ticker from companies where tracked order by ticker"))
            .scalars()
            .all()
        )
        mmm = conn.execute(sa.text("select name, sector from companies where ticker = 'MMM'")).one()
    engine.dispose()
    assert count == len(universe)
    assert tracked == ["AAPL", "MSFT"]
    assert tuple(mmm) == ("3M Company", "Industrials")


def test_a_changed_listing_updates_the_row(migrated_pg_url: str, redis_client: redis.Redis) -> None:
    engine = sa.create_engine(migrated_pg_url)
    producer = Producer(redis_client, QUEUE)
    producer.publish(CompanyListing(ticker="ZZZ", name="Old Name", sector="Energy"))
    consume(redis_client, engine)
    producer.publish(
        CompanyListing(ticker="ZZZ", name="New Name", sector="Utilities", tracked=True)
    )
    consume(redis_client, engine)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("select name, sector, tracked from companies where ticker = 'ZZZ'")
        ).one()
    engine.dispose()
    assert tuple(row) == ("New Name", "Utilities", True)
