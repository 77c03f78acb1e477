"""A stage's kept PostgreSQL connection: one session reused, autocommit, never handed out
inside a transaction, replaced after it breaks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.kept_connection import GENERIC_PLANS, KeptConnection
from realtime.prepared import PreparedStatement, fetch_rows

PID = PreparedStatement("test_pid", "PREPARE test_pid AS SELECT pg_backend_pid()",
                        "EXECUTE test_pid")


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE kept (id int PRIMARY KEY)")
    yield engine
    engine.dispose()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM kept").scalar_one())


def test_every_use_runs_on_the_same_session_and_each_statement_commits_itself(
        engine: Engine) -> None:
    kept = KeptConnection(engine)
    [(first,)] = kept.run(PID, None)
    with kept.connection() as conn:
        fetch_rows(conn, "INSERT INTO kept VALUES (1)")
    assert _count(engine) == 1, "committed without a COMMIT"
    assert kept.run(PID, None) == [(first,)]
    assert engine.pool.checkedout() == 0, "kept out of the pool"
    kept.close()


def test_a_broken_connection_is_replaced_and_retried_only_when_asked(engine: Engine) -> None:
    kept = KeptConnection(engine)
    [(pid,)] = kept.run(PID, None)
    with engine.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    with pytest.raises(sa.exc.DBAPIError) as failed:
        kept.run(PID, None)
    assert failed.value.connection_invalidated
    [(fresh,)] = kept.run(PID, None)
    assert fresh != pid
    with engine.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({fresh})")
    [(again,)] = kept.run(PID, None, retry=True)
    assert again not in (pid, fresh)
    kept.close()


def test_a_failure_inside_a_transaction_rolls_it_back_before_the_next_use(
        engine: Engine) -> None:
    kept = KeptConnection(engine)
    with pytest.raises(sa.exc.IntegrityError), kept.connection() as conn:
        fetch_rows(conn, "BEGIN; INSERT INTO kept VALUES (1); INSERT INTO kept VALUES (1)")
    with kept.connection() as conn:
        assert fetch_rows(conn, "SELECT count(*) FROM kept") == [(0,)]
        fetch_rows(conn, "INSERT INTO kept VALUES (2)")  # not inside an aborted transaction
    assert _count(engine) == 1
    kept.close()


def test_a_transaction_left_open_is_rolled_back_and_reported(engine: Engine) -> None:
    kept = KeptConnection(engine)
    with pytest.raises(RuntimeError, match="left open"), kept.connection() as conn:
        fetch_rows(conn, "BEGIN; INSERT INTO kept VALUES (1)")
    assert _count(engine) == 0
    with kept.connection() as conn:
        assert fetch_rows(conn, "SELECT 1") == [(1,)]
    kept.close()


def test_sqlite_is_refused_with_a_clear_error(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    assert not KeptConnection.supports(engine)
    with pytest.raises(ValueError, match="PostgreSQL through psycopg2"):
        KeptConnection(engine)


def test_session_settings_are_set_on_every_session_it_opens(engine: Engine) -> None:
    kept = KeptConnection(engine, settings=GENERIC_PLANS)
    show = ("SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan'), "
            "pg_backend_pid()")
    with kept.connection() as conn:
        [(mode, seqscan, pid)] = fetch_rows(conn, show)
    assert (mode, seqscan) == ("force_generic_plan", "off")
    with engine.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    with pytest.raises(sa.exc.DBAPIError), kept.connection() as conn:
        fetch_rows(conn, show)
    with kept.connection() as conn:
        [(mode, seqscan, fresh)] = fetch_rows(conn, show)
    assert (mode, seqscan) == ("force_generic_plan", "off") and fresh != pid
    kept.close()
