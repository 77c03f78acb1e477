import redis
import sqlalchemy as sa


def test_postgres_and_redis_are_real_servers(pg_url: str, redis_client: redis.Redis) -> None:
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("select version()")).scalar_one()
    engine.dispose()
    assert version.startswith("PostgreSQL")
    assert redis_client.info("server")["redis_version"]
