"""The bulk INSERT … ON CONFLICT helpers of realtime/sql.py on PostgreSQL and SQLite.

On PostgreSQL (psycopg2) the helpers send the rows as one JSON document; every test here
checks that this writes exactly what SQLAlchemy's own path writes, with the same conflict
handling and errors, and the SQLite runs check the same behaviour on the embedded dialect.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime import sql, sql_documents
from realtime.sql import (
    BulkWrite,
    insert_ignore,
    insert_ignore_many,
    upsert,
    upsert_many,
    write_many,
)
from stonks.db.engine import create_engine_for
from stonks.models.enums import Direction
from stonks.models.types import ID_TYPE, JSON, UTCDateTime, enum_column, utcnow

T0 = datetime(2024, 3, 1, 14, 30, 0, 123456, tzinfo=UTC)
CONFLICT = ("key", "part")
AWKWARD = "it's 50% \\ \"quoted\" \u20ac \u00fcn\u00efcode \\u0041"


def _probe(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("key", sa.String(8), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("score", sa.Double),
        sa.Column("amount", sa.Numeric(20, 8)),
        sa.Column("flag", sa.Boolean),
        sa.Column("direction", enum_column(Direction, 16)),
        sa.Column("payload", JSON),
        sa.Column("at", UTCDateTime),
        sa.Column("day", sa.Date),
        sa.Column("count", sa.Integer, default=7),
        sa.Column("tags", JSON, default=dict),
        sa.Column("created_at", UTCDateTime, default=utcnow, nullable=False),
        sa.UniqueConstraint(*CONFLICT),
    )


METADATA = sa.MetaData()
FAST = _probe(METADATA, "bulk_fast")
SLOW = _probe(METADATA, "bulk_slow")


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    engine = create_engine_for(url)
    METADATA.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = create_engine_for(pg_url)
    METADATA.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _rows() -> list[dict[str, Any]]:
    """Awkward values: quotes, '%', backslashes, non-ASCII, nested JSON, JSON null, offsets."""
    india = timezone(timedelta(hours=5, minutes=30))
    return [
        {"key": "a", "part": 1, "score": 0.1 + 0.2, "amount": Decimal("12.34567891"),
         "flag": True, "direction": Direction.BULLISH,
         "payload": {"text": AWKWARD, "nested": [1, 2.5, None]},
         "at": T0, "day": date(2024, 3, 1)},
        {"key": "b", "part": 1, "score": -1e-300, "amount": Decimal("-0.00000001"),
         "flag": False, "direction": "bearish", "payload": None,
         "at": T0.astimezone(india), "day": None},
        {"key": "b", "part": 2, "score": None, "amount": None, "flag": None,
         "direction": None, "payload": [], "at": None, "day": date(1999, 12, 31)},
    ]


def _read(engine: Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(table).order_by(table.c.key, table.c.part)).mappings()
        return [dict(row) for row in found]


def _without(rows: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in names} for row in rows]


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    return seen


def test_the_helpers_write_what_sqlalchemy_writes(engine: Engine) -> None:
    before = datetime.now(UTC)
    with engine.begin() as conn:
        insert_ignore_many(conn, FAST, _rows(), CONFLICT)
        sql._write_slow(conn, BulkWrite(SLOW, _rows(), CONFLICT, update=False))
    fast, slow = _read(engine, FAST), _read(engine, SLOW)
    assert _without(fast, "id", "created_at") == _without(slow, "id", "created_at")
    assert fast[0]["score"] == 0.1 + 0.2 and fast[1]["score"] == -1e-300  # exact doubles
    assert fast[0]["at"] == fast[1]["at"] == T0 and fast[1]["at"].tzinfo == UTC
    assert fast[0]["amount"] == Decimal("12.34567891")
    assert fast[0]["direction"] == Direction.BULLISH and fast[2]["direction"] is None
    assert fast[0]["payload"]["text"] == AWKWARD
    assert [row["count"] for row in fast] == [7, 7, 7]  # Python-side defaults filled in
    assert [row["tags"] for row in fast] == [{}, {}, {}]
    assert all(before <= row["created_at"] <= datetime.now(UTC) for row in fast)


def test_json_none_is_stored_as_sqlalchemy_stores_it(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_ignore_many(conn, FAST, _rows(), CONFLICT)
        sql._write_slow(conn, BulkWrite(SLOW, _rows(), CONFLICT, update=False))
        text = sa.cast(FAST.c.payload, sa.String)
        fast = conn.execute(sa.select(text).where(FAST.c.key == "b", FAST.c.part == 1))
        slow = conn.execute(sa.select(sa.cast(SLOW.c.payload, sa.String))
                            .where(SLOW.c.key == "b", SLOW.c.part == 1))
        assert fast.scalar_one() == slow.scalar_one()


def test_postgres_sends_all_writes_in_one_statement(pg: Engine) -> None:
    seen = _statements(pg)
    with pg.begin() as conn:
        write_many(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=True),
                          BulkWrite(SLOW, _rows()[:1], CONFLICT, update=False),
                          BulkWrite(SLOW, [], CONFLICT, update=False)])
    assert len(seen) == 1 and "jsonb_array_elements" in seen[0]
    assert len(_read(pg, FAST)) == 3 and len(_read(pg, SLOW)) == 1


def test_upsert_many_updates_the_given_columns_and_keeps_the_others(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_many(conn, FAST, _rows(), CONFLICT)
    first = _read(engine, FAST)
    changed = [{**row, "score": 0.5, "flag": True, "payload": {"v": 2}} for row in _rows()]
    with engine.begin() as conn:
        upsert_many(conn, FAST, changed, CONFLICT)
    second = _read(engine, FAST)
    assert [r["id"] for r in second] == [r["id"] for r in first]
    assert [r["created_at"] for r in second] == [r["created_at"] for r in first]
    assert {r["score"] for r in second} == {0.5} and {r["flag"] for r in second} == {True}
    assert [r["payload"] for r in second] == [{"v": 2}] * 3
    assert _without(second, "score", "flag", "payload") == _without(
        first, "score", "flag", "payload")


def test_insert_ignore_many_leaves_existing_rows_alone(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_ignore_many(conn, FAST, _rows(), CONFLICT)
    first = _read(engine, FAST)
    again = [{**row, "score": 0.9} for row in _rows()]
    again.append({**_rows()[0], "part": 3})
    with engine.begin() as conn:
        insert_ignore_many(conn, FAST, again, CONFLICT)
    second = _read(engine, FAST)
    assert [row for row in second if row["part"] != 3] == first
    assert [(row["key"], row["part"]) for row in second if row["part"] == 3] == [("a", 3)]


def test_single_row_helpers_return_ids(engine: Engine) -> None:
    row = _rows()[0]
    with engine.begin() as conn:
        new = insert_ignore(conn, FAST, row, CONFLICT)
        assert new is not None
        assert insert_ignore(conn, FAST, {**row, "score": 2.0}, CONFLICT) is None
        assert upsert(conn, FAST, {**row, "score": 3.0}, CONFLICT) == new
        other = upsert(conn, FAST, {**row, "part": 9}, CONFLICT)
        assert other != new
    stored = _read(engine, FAST)
    assert [(r["id"], r["score"]) for r in stored] == [(new, 3.0), (other, row["score"])]


def test_a_naive_timestamp_is_refused_on_both_paths(engine: Engine) -> None:
    naive = [{**_rows()[0], "at": datetime(2024, 3, 1, 14, 30)}]
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as conn:
        insert_ignore_many(conn, FAST, naive, CONFLICT)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as conn:
        sql._write_slow(conn, BulkWrite(SLOW, naive, CONFLICT, update=False))
    assert _read(engine, FAST) == []


def test_an_unknown_enum_value_is_refused(engine: Engine) -> None:
    bad = [{**_rows()[0], "direction": "sideways"}]
    with pytest.raises(sa.exc.StatementError, match="sideways"), engine.begin() as conn:
        insert_ignore_many(conn, FAST, bad, CONFLICT)


def test_too_long_a_string_is_an_error_not_truncated_on_postgres(pg: Engine) -> None:
    with pytest.raises(sa.exc.DataError, match="too long"), pg.begin() as conn:
        insert_ignore_many(conn, FAST, [{**_rows()[0], "key": "x" * 9}], CONFLICT)


def test_values_json_cannot_carry_take_the_sqlalchemy_path(pg: Engine) -> None:
    seen = _statements(pg)
    rows = [{**_rows()[0], "score": math.nan}, {**_rows()[1], "score": math.inf}]
    with pg.begin() as conn:
        insert_ignore_many(conn, FAST, rows, CONFLICT)
    stored = _read(pg, FAST)
    assert math.isnan(stored[0]["score"]) and stored[1]["score"] == math.inf
    assert "jsonb_array_elements" not in seen[0]


def test_rows_of_differing_shapes_fail_as_on_the_sqlalchemy_path(pg: Engine) -> None:
    rows = [{"key": "a", "part": 1, "score": 1.0}, {"key": "b", "part": 1}]
    for table in (FAST, SLOW):
        with pytest.raises(sa.exc.StatementError, match="value is required"), pg.begin() as conn:
            if table is FAST:
                insert_ignore_many(conn, table, rows, CONFLICT)
            else:
                sql._write_slow(conn, BulkWrite(table, rows, CONFLICT, update=False))


def test_many_rows_are_split_into_pages(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_documents, "PAGE_ROWS", 2)
    seen = _statements(pg)
    rows = [{"key": "k", "part": i, "score": float(i)} for i in range(5)]
    with pg.begin() as conn:
        insert_ignore_many(conn, FAST, rows, CONFLICT)
    assert len(seen) == 1 and seen[0].count("INSERT INTO") == 3
    assert [r["part"] for r in _read(pg, FAST)] == [0, 1, 2, 3, 4]


def test_writes_in_autocommit_mode_are_one_transaction(pg: Engine) -> None:
    """Several statements in one string run as one implicit transaction: a failing later
    write leaves nothing of the earlier ones."""
    auto = pg.execution_options(isolation_level="AUTOCOMMIT")
    with pytest.raises(sa.exc.DataError), auto.connect() as conn:
        write_many(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=True),
                          BulkWrite(SLOW, [{**_rows()[0], "key": "x" * 9}], CONFLICT,
                                    update=False)])
    assert _read(pg, FAST) == []
    with auto.connect() as conn:
        write_many(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=True)])
    assert len(_read(pg, FAST)) == 3


@pytest.fixture
def auto(pg: Engine) -> Engine:
    """The same database through connections in autocommit mode (the aggregation's)."""
    return pg.execution_options(isolation_level="AUTOCOMMIT")


def test_autocommit_writes_are_prepared_once_per_session_and_write_the_same(
        pg: Engine, auto: Engine) -> None:
    seen = _statements(pg)
    for _ in range(2):
        with auto.connect() as conn:
            write_many(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=True),
                              BulkWrite(SLOW, _rows()[:2], CONFLICT, update=False)])
    # The pool hands back the same session: PREPAREd by the first batch, only run after.
    assert [s.split()[0] for s in seen] == ["PREPARE", "EXECUTE", "EXECUTE"]
    assert seen[1].count("EXECUTE") == 2 and "jsonb_array_elements" not in seen[1]
    with pg.begin() as conn:
        sql._write_slow(conn, BulkWrite(SLOW, _rows()[2:], CONFLICT, update=False))
    fast, slow = _read(pg, FAST), _read(pg, SLOW)
    assert _without(fast, "id", "created_at") == _without(slow, "id", "created_at")
    assert fast[0]["score"] == 0.1 + 0.2 and fast[1]["at"] == T0
    assert [row["count"] for row in fast] == [7, 7, 7]


def test_a_session_that_lost_its_prepared_statements_prepares_them_again(
        pg: Engine, auto: Engine) -> None:
    with auto.connect() as conn:
        first = insert_ignore(conn, FAST, _rows()[0], CONFLICT)
        conn.exec_driver_sql("DEALLOCATE ALL")
        assert insert_ignore(conn, FAST, _rows()[0], CONFLICT) is None  # existed
        assert upsert(conn, FAST, {**_rows()[0], "score": 2.0}, CONFLICT) == first
        conn.exec_driver_sql("DEALLOCATE ALL")
        upsert_many(conn, FAST, [{**_rows()[0], "score": 3.0}], CONFLICT)
        names = [name for (name,) in conn.exec_driver_sql(
            "SELECT name FROM pg_prepared_statements")]
    assert len(names) == 1 and names[0].startswith("rt_bulk_")
    assert [(r["id"], r["score"]) for r in _read(pg, FAST)] == [(first, 3.0)]


def test_a_failed_prepared_string_leaves_nothing_and_the_session_usable(auto: Engine,
                                                                       pg: Engine) -> None:
    with auto.connect() as conn:
        with pytest.raises(sa.exc.DataError):
            write_many(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=False),
                              BulkWrite(FAST, [{**_rows()[0], "key": "x" * 9}], CONFLICT,
                                        update=False)])
        assert _read(pg, FAST) == []
        write_many(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=False)])
    assert len(_read(pg, FAST)) == 3


def test_rows_given_as_values_in_key_order_write_what_mappings_write(engine: Engine) -> None:
    rows = _rows()
    keys = tuple(rows[0])
    values = [tuple(row[k] for k in keys) for row in rows]
    with engine.begin() as conn:
        write_many(conn, [BulkWrite(FAST, values, CONFLICT, update=False, keys=keys)])
        sql._write_slow(conn, BulkWrite(SLOW, rows, CONFLICT, update=False))
    fast, slow = _read(engine, FAST), _read(engine, SLOW)
    assert _without(fast, "id", "created_at") == _without(slow, "id", "created_at")
    assert fast[0]["payload"]["text"] == AWKWARD and fast[1]["at"] == T0


def test_objects_shared_by_rows_are_written_in_every_row(engine: Engine) -> None:
    """Rows may share a value object (one timestamp, one JSON document) anywhere in a
    column; each row gets its own value all the same."""
    india = timezone(timedelta(hours=5, minutes=30))
    at, other_at = T0, T0.astimezone(india) + timedelta(hours=1)
    payload, other_payload = {"v": 1}, {"v": 2}
    rows = [{"key": "k", "part": part, "at": (at, other_at)[part % 2],
             "payload": (payload, other_payload, None)[part % 3],
             "direction": (Direction.BULLISH, "bearish")[part % 2]} for part in range(6)]
    with engine.begin() as conn:
        upsert_many(conn, FAST, rows, CONFLICT)
    stored = _read(engine, FAST)
    assert [r["at"] for r in stored] == [at, other_at] * 3
    assert [r["payload"] for r in stored] == [{"v": 1}, {"v": 2}, None] * 2
    assert [r["direction"] for r in stored] == [Direction.BULLISH, Direction.BEARISH] * 3


def test_write_together_is_one_prepared_statement_writing_what_write_many_writes(
        pg: Engine, auto: Engine) -> None:
    """Two tables from one rows object (a table and its history), upserted and inserted
    unless present: one statement per call, the rows sent once, the same values as
    ``write_many`` writes, and a repeated call upserts the same and inserts nothing."""
    seen = _statements(pg)
    documents: list[str] = []

    @sa.event.listens_for(pg, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_: Any) -> None:
        documents.extend(parameters or ())

    rows = _rows()
    for changed in (False, True, True):
        written = [{**row, "score": 0.5} for row in rows] if changed else rows
        with auto.connect() as conn:
            sql.write_together(conn, [BulkWrite(FAST, written, CONFLICT, update=True),
                                      BulkWrite(SLOW, written, CONFLICT, update=False),
                                      BulkWrite(SLOW.metadata.tables["bulk_fast"], [],
                                                CONFLICT, update=False)])
    assert [s.split()[0] for s in seen] == ["PREPARE", "EXECUTE", "EXECUTE", "EXECUTE"]
    assert [s.count("EXECUTE") for s in seen[1:]] == [1, 1, 1]
    assert seen[0].count("INSERT INTO") == 2 and len(documents) == 3
    assert documents[0].count('"it') == 1  # the shared rows sent once
    fast, slow = _read(pg, FAST), _read(pg, SLOW)
    assert [r["score"] for r in fast] == [0.5] * 3  # upserted
    assert _without(slow, "id", "created_at") == _without(
        [{**row, "score": original["score"]} for row, original in zip(fast, slow,
                                                                        strict=True)],
        "id", "created_at")  # inserted once, left alone after
    with pg.begin() as conn:  # what write_many writes, on the SQLAlchemy path's transaction
        conn.execute(sa.delete(SLOW))
        write_many(conn, [BulkWrite(SLOW, rows, CONFLICT, update=False)])
    assert _without(_read(pg, SLOW), "id", "created_at") == _without(slow, "id", "created_at")
    assert slow[0]["at"] == T0 and slow[1]["at"].tzinfo == UTC
    assert [row["count"] for row in slow] == [7, 7, 7] and [r["tags"] for r in slow] == [{}] * 3
    assert len({row["created_at"] for row in slow}) == 1
    with auto.connect() as conn:  # a session that lost it prepares it again
        conn.exec_driver_sql("DEALLOCATE ALL")
        sql.write_together(conn, [BulkWrite(FAST, rows, CONFLICT, update=True),
                                  BulkWrite(SLOW, rows, CONFLICT, update=False)])
    assert [r["score"] for r in _read(pg, FAST)] == [r["score"] for r in rows]


def test_write_together_falls_back_to_write_many_where_it_cannot_combine(
        engine: Engine) -> None:
    """Outside autocommit on PostgreSQL, on SQLite, and for writes to one table twice."""
    with engine.begin() as conn:
        sql.write_together(conn, [BulkWrite(FAST, _rows(), CONFLICT, update=True),
                                  BulkWrite(SLOW, _rows(), CONFLICT, update=False)])
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        sql.write_together(conn, [
            BulkWrite(FAST, [{**_rows()[0], "part": 5}], CONFLICT, update=False),
            BulkWrite(FAST, [{**_rows()[0], "part": 5, "score": 9.0}], CONFLICT,
                      update=True)])
    fast, slow = _read(engine, FAST), _read(engine, SLOW)
    assert _without([r for r in fast if r["part"] != 5], "id", "created_at") == _without(
        slow, "id", "created_at")
    assert [(r["part"], r["score"]) for r in fast if r["part"] == 5] == [(5, 9.0)]  # in order
