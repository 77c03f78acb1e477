"""Server-side prepared statements: prepared once per session, re-planned as tables grow;
the JSON documents that carry their rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa

from realtime import prepared
from realtime.prepared import PreparedStatement, document, execute_prepared, prepared_names

LOOKUP = PreparedStatement(
    "test_lookup", "PREPARE test_lookup(text[]) AS SELECT id FROM grow WHERE key = ANY($1)",
    "EXECUTE test_lookup(%(keys)s)")


def _plan(conn: sa.Connection) -> str:
    rows = conn.exec_driver_sql("EXPLAIN EXECUTE test_lookup(%(keys)s)",
                                {"keys": ["k1", "k2"]}).scalars()
    return "\n".join(rows)


def test_a_plan_made_on_a_tiny_table_is_replaced_once_the_interval_has_passed(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    monkeypatch.setattr(prepared, "REPLAN_INTERVAL_S", 3600.0)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE grow (id bigserial PRIMARY KEY, key text UNIQUE)")
            conn.exec_driver_sql("INSERT INTO grow (key) SELECT 'k' || g "
                                 "FROM generate_series(1, 40) g")
            conn.exec_driver_sql("VACUUM ANALYZE grow")  # as autovacuum does early on
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            assert [i for i, in execute_prepared(conn, LOOKUP, {"keys": ["k1"]})] == [1]
            conn.exec_driver_sql("INSERT INTO grow (key) SELECT 'k' || g "
                                 "FROM generate_series(41, 50000) g")
            assert "Seq Scan" in _plan(conn), "the plan of the empty table is kept"
            assert [i for i, in execute_prepared(conn, LOOKUP, {"keys": ["k7"]})] == [7]

            monkeypatch.setattr(prepared, "REPLAN_INTERVAL_S", 0.0)
            assert [i for i, in execute_prepared(conn, LOOKUP, {"keys": ["k7"]})] == [7]
            assert "Index" in _plan(conn), "re-prepared: planned for the table as it is now"
            assert prepared_names(conn) == set(), "every statement is dropped when due"
    finally:
        engine.dispose()


def test_a_statement_the_session_lost_is_prepared_again(pg_url: str) -> None:
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE grow (id bigserial PRIMARY KEY, key text UNIQUE)")
            conn.exec_driver_sql("INSERT INTO grow (key) VALUES ('k1')")
            assert [i for i, in execute_prepared(conn, LOOKUP, {"keys": ["k1"]})] == [1]
            conn.exec_driver_sql("DEALLOCATE ALL")
            assert [i for i, in execute_prepared(conn, LOOKUP, {"keys": ["k1"]})] == [1]
    finally:
        engine.dispose()


def test_a_document_keeps_decimals_exact_and_timestamps_aware() -> None:
    rows = [{"quantity": Decimal("1.234567"), "price": Decimal("81.0800000001"),
             "at": datetime(2024, 5, 6, 14, 30, 1, 5, tzinfo=UTC), "kelly": np.float64(0.25),
             "gates": {"confidence": {"passed": True, "note": "ünïcode"}}, 7: None}]
    assert json.loads(document(rows)) == [{
        "quantity": "1.234567", "price": "81.0800000001", "at": "2024-05-06T14:30:01.000005+00:00",
        "kelly": 0.25, "gates": {"confidence": {"passed": True, "note": "ünïcode"}}, "7": None}]


def test_a_document_refuses_a_naive_timestamp_and_a_nan() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        document([{"at": datetime(2024, 5, 6, 14, 30)}])
    for value in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="Out of range float"):
            document([value])
