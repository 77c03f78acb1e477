"""The aggregation batch: one read before the hand-off, dedupe and publish in one script
(or, without a dedupe TTL, the jobs handed on with the batch's acknowledgement), one
statement for the trend rows, on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.messages import RecommendationJob
from realtime.sql import table_of
from realtime.workers.runtime import Worker, build_worker
from stonks import redis_keys
from stonks.models.signal_engine import SignalEngineOutput
from stonks.models.trends import TrendHistory, TrendProjection, TrendWindow
from stonks.queues import Producer
from stonks.weighted_signals import AggregationJob
from tests.realtime.conftest import (
    TRACKED,
    insert_news_signal,
    make_settings,
    recent,
)
from tests.realtime.pipeline import write_fundamentals

REC_STREAM = redis_keys.queue(redis_keys.QueueName.RECOMMENDATION)


def _worker(database_url: str, redis_url: str, db: Engine, client: redis.Redis,
            tmp_path: Path, case: tuple[datetime, str], **settings: Any) -> Worker:
    moment, ticker = case
    other = next(t for t in TRACKED if t != ticker)
    insert_news_signal(db, ticker, recent(moment, 3))
    worker = build_worker(redis_keys.QueueName.AGGREGATION, "test-aggregation", make_settings(
        database_url, redis_url, fundamentals_path=write_fundamentals(
            tmp_path / "f.json", (ticker, other), moment), **settings), db, client)
    worker.consumer.ensure_group()
    return worker



@pytest.fixture
def worker_without_ttl(db: Engine, migrated_pg_url: str, redis_url: str,
                       redis_client: redis.Redis, tmp_path: Path,
                       buy_case: tuple[datetime, str]) -> Worker:
    """An aggregation worker that publishes every job (no dedupe TTL)."""
    return _worker(migrated_pg_url, redis_url, db, redis_client, tmp_path, buy_case,
                   rec_dedup_ttl_s=0)


def _run(worker: Worker, client: redis.Redis, *jobs: tuple[str, datetime]) -> None:
    Producer(client, redis_keys.QueueName.AGGREGATION).publish_many(
        [AggregationJob(ticker=ticker, as_of=as_of) for ticker, as_of in jobs])
    while worker.consumer.run_once():
        pass


def _published(client: redis.Redis) -> list[RecommendationJob]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(REC_STREAM)  # type: ignore[assignment]
    return [RecommendationJob.from_fields(fields) for _, fields in entries]


def _count(db: Engine, model: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(model)))
                   .scalar_one())


def test_one_job_per_ticker_is_published_within_the_dedupe_ttl(
    db: Engine, migrated_pg_url: str, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    other = next(t for t in TRACKED if t != ticker)
    worker = _worker(migrated_pg_url, redis_url, db, redis_client, tmp_path, buy_case,
                     rec_dedup_ttl_s=300)
    _run(worker, redis_client, (ticker, moment), (ticker, moment + timedelta(seconds=1)),
         (other, moment))
    first = _published(redis_client)
    assert [(j.ticker, j.as_of) for j in first] == [(ticker, moment), (other, moment)]
    key = redis_keys.rec_dedup(ticker)
    assert redis_client.get(key) == first[0].idempotency_key.encode()
    assert 0 < int(redis_client.ttl(key)) <= 300

    _run(worker, redis_client, (ticker, moment + timedelta(seconds=2)))
    assert len(_published(redis_client)) == 2  # deduplicated: not published, key kept
    assert redis_client.get(key) == first[0].idempotency_key.encode()

    redis_client.delete(key)  # the TTL ran out
    _run(worker, redis_client, (ticker, moment + timedelta(seconds=3)))
    assert [j.as_of for j in _published(redis_client)][2:] == [moment + timedelta(seconds=3)]
    assert _count(db, TrendHistory) == 3 * 4  # every batch's trends, deduplicated or not


def test_without_a_ttl_every_job_is_published(
    db: Engine, redis_client: redis.Redis, buy_case: tuple[datetime, str],
    worker_without_ttl: Worker,
) -> None:
    moment, ticker = buy_case
    _run(worker_without_ttl, redis_client, (ticker, moment),
         (ticker, moment + timedelta(seconds=1)))
    assert len(_published(redis_client)) == 2
    assert not redis_client.exists(redis_keys.rec_dedup(ticker))


@pytest.mark.parametrize(("ttl", "published_before"), [(300, (1, 2)), (0, (1, 1))])
def test_on_postgres_the_read_precedes_the_hand_off_and_without_a_ttl_so_does_the_write(
    ttl: int, published_before: tuple[int, int], db: Engine, migrated_pg_url: str,
    redis_url: str, redis_client: redis.Redis, tmp_path: Path,
    buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    worker = _worker(migrated_pg_url, redis_url, db, redis_client, tmp_path, buy_case,
                     rec_dedup_ttl_s=ttl)
    _run(worker, redis_client, (ticker, moment))  # warms the caches (company, output)
    redis_client.delete(redis_keys.rec_dedup(ticker))  # the TTL ran out
    seen: list[tuple[str, int]] = []

    @sa.event.listens_for(db, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((statement.split()[0], int(redis_client.xlen(REC_STREAM))))

    _run(worker, redis_client, (ticker, moment + timedelta(seconds=1)))
    # One statement (the signals) before the job is published, one (all trend rows) after
    # the dedupe script published it, or, without a TTL, before the consumer's pipeline
    # that acknowledges the batch carries it; both prepared on the server by the first
    # batch, so only executed now.
    assert seen == list(zip(("EXECUTE", "EXECUTE"), published_before, strict=True))
    assert len(_published(redis_client)) == 2
    assert (_count(db, TrendWindow), _count(db, TrendHistory), _count(db, TrendProjection)) \
        == (3, 6, 12)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_a_batch_writes_its_rows_once_and_a_redelivery_changes_nothing(
    dialect: str, request: pytest.FixtureRequest, redis_url: str,
    redis_client: redis.Redis, tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    if dialect == "sqlite":
        db, url = request.getfixturevalue("sqlite_db"), request.getfixturevalue("sqlite_url")
    else:
        db, url = request.getfixturevalue("db"), request.getfixturevalue("migrated_pg_url")
    moment, ticker = buy_case
    worker = _worker(url, redis_url, db, redis_client, tmp_path, buy_case,
                     rec_dedup_ttl_s=300)
    _run(worker, redis_client, (ticker, moment))
    counts = [_count(db, m) for m in (SignalEngineOutput, TrendWindow, TrendHistory,
                                      TrendProjection)]
    assert counts == [1, 3, 3, 6]
    with db.connect() as conn:
        window = conn.execute(sa.select(table_of(TrendWindow)).where(
            table_of(TrendWindow).c.window_label == "7d")).one()
    assert window.computed_at == moment and window.signal_count == 1
    assert window.layer_scores == {"company": 1.0}
    (job,) = _published(redis_client)
    assert job.trend["7d"] == window.score

    _run(worker, redis_client, (ticker, moment))  # the same job again
    assert [_count(db, m) for m in (SignalEngineOutput, TrendWindow, TrendHistory,
                                    TrendProjection)] == counts
    assert len(_published(redis_client)) == 1


def test_on_postgres_a_batch_writes_its_trend_rows_in_one_statement(
    db: Engine, redis_client: redis.Redis, buy_case: tuple[datetime, str],
    worker_without_ttl: Worker,
) -> None:
    moment, ticker = buy_case
    other = next(t for t in TRACKED if t != ticker)
    _run(worker_without_ttl, redis_client, (ticker, moment), (other, moment))
    seen: list[str] = []

    @sa.event.listens_for(db, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    _run(worker_without_ttl, redis_client, (ticker, moment + timedelta(seconds=1)),
         (other, moment + timedelta(seconds=1)))
    # The signals' read, then all trend rows (windows, history, projections) of both
    # tickers: one prepared statement, not one per table.
    assert len(seen) == 2 and [s.count("EXECUTE") for s in seen] == [1, 1]
    assert (_count(db, TrendWindow), _count(db, TrendHistory), _count(db, TrendProjection)) \
        == (6, 12, 24)


def test_on_postgres_the_batches_take_no_connection_from_the_pool(
    db: Engine, redis_client: redis.Redis, buy_case: tuple[datetime, str],
    worker_without_ttl: Worker,
) -> None:
    moment, ticker = buy_case
    _run(worker_without_ttl, redis_client, (ticker, moment))  # opens the worker's own session
    checkouts: list[int] = []
    sessions: set[int] = set()

    @sa.event.listens_for(db, "checkout")
    def _checkout(dbapi_connection: Any, *_: Any) -> None:
        checkouts.append(id(dbapi_connection))

    @sa.event.listens_for(db, "before_cursor_execute")
    def _record(conn: sa.Connection, *_: Any) -> None:
        sessions.add(id(conn.connection.dbapi_connection))

    for second in (1, 2):
        _run(worker_without_ttl, redis_client, (ticker, moment + timedelta(seconds=second)))
    assert checkouts == [] and len(sessions) == 1
    assert len(_published(redis_client)) == 3 and _count(db, TrendHistory) == 9


def test_on_postgres_a_batch_begins_no_transaction_on_its_kept_connection(
    db: Engine, redis_client: redis.Redis, buy_case: tuple[datetime, str],
    worker_without_ttl: Worker,
) -> None:
    moment, ticker = buy_case
    _run(worker_without_ttl, redis_client, (ticker, moment))  # warms the caches
    begun: list[int] = []

    @sa.event.listens_for(db, "begin")
    def _begin(conn: sa.Connection) -> None:
        begun.append(id(conn))

    _run(worker_without_ttl, redis_client, (ticker, moment + timedelta(seconds=1)))
    # Each statement commits on its own (the trend rows' one statement is atomic).
    assert begun == []
    assert _count(db, TrendHistory) == 6


def _trend_rows(db: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every trend table's rows without their ids and insertion times, in key order."""
    found = {}
    for model in (TrendWindow, TrendHistory, TrendProjection):
        table = table_of(model)
        columns = [c for c in table.c if c.key not in ("id", "created_at", "updated_at")]
        order = [table.c[k] for k in ("ticker", "window_label", "horizon", "computed_at")
                 if k in table.c]
        with db.connect() as conn:
            found[table.name] = [dict(row) for row in conn.execute(
                sa.select(*columns).order_by(*order)).mappings()]
    return found


def test_the_trend_rows_are_the_same_on_both_dialects(
    request: pytest.FixtureRequest, redis_url: str, redis_client: redis.Redis,
    tmp_path: Path, buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    other = next(t for t in TRACKED if t != ticker)
    written = []
    for db_name, url_name in (("db", "migrated_pg_url"), ("sqlite_db", "sqlite_url")):
        redis_client.flushdb()  # each database's worker starts from empty streams
        db = request.getfixturevalue(db_name)
        worker = _worker(request.getfixturevalue(url_name), redis_url, db, redis_client,
                         tmp_path, buy_case, rec_dedup_ttl_s=0)
        _run(worker, redis_client, (ticker, moment), (other, moment),
             (ticker, moment + timedelta(seconds=1)))
        written.append(_trend_rows(db))
    on_postgres, on_sqlite = written
    assert [len(rows) for rows in on_postgres.values()] == [6, 6, 12]
    assert on_postgres == on_sqlite
