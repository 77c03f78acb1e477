"""The schema follows its own conventions, so migrations stay portable and names stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.sql.sqltypes import AutoString

from stonks.models import OrderSide, StrEnumType, UTCDateTime, metadata
from stonks.models.types import MAX_IDENTIFIER_LENGTH, NAMING_CONVENTION


def _columns() -> list[sa.Column[object]]:
    return [column for table in metadata.tables.values() for column in table.columns]


def test_every_constraint_and_index_has_a_short_deterministic_name() -> None:
    for table in metadata.tables.values():
        names = [c.name for c in table.constraints] + [i.name for i in table.indexes]
        for name in names:
            assert isinstance(name, str) and name, table.name
            assert len(name) <= MAX_IDENTIFIER_LENGTH, name


def test_metadata_uses_the_naming_convention() -> None:
    assert metadata.naming_convention == NAMING_CONVENTION


def test_every_table_has_an_integer_primary_key_id_and_created_at() -> None:
    for table in metadata.tables.values():
        assert [c.name for c in table.primary_key.columns] == ["id"], table.name
        id_type = table.c.id.type
        assert isinstance(id_type.dialect_impl(postgresql.dialect()), sa.BigInteger)  # type: ignore[no-untyped-call]
        assert type(id_type.dialect_impl(sqlite.dialect())) is sa.Integer
        assert isinstance(table.c.created_at.type, UTCDateTime), table.name


def test_no_string_column_is_unbounded_or_autostring() -> None:
    for column in _columns():
        assert not isinstance(column.type, AutoString), column
        if isinstance(column.type, sa.String) and not isinstance(column.type, sa.Text):
            assert column.type.length, column


def test_every_timestamp_is_utc_datetime() -> None:
    for column in _columns():
        if isinstance(column.type, sa.DateTime | UTCDateTime):
            assert isinstance(column.type, UTCDateTime), column


def test_every_enum_column_has_a_check_constraint() -> None:
    for table in metadata.tables.values():
        checks = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        for column in table.columns:
            if isinstance(column.type, StrEnumType):
                assert f"ck_{table.name}_{column.name}" in checks, column


def test_every_foreign_key_says_what_happens_on_delete() -> None:
    for table in metadata.tables.values():
        for fk in table.foreign_keys:
            assert fk.ondelete in {"CASCADE", "SET NULL", "RESTRICT"}, fk.parent


def test_utc_datetime_converts_offsets_to_utc_on_bind() -> None:
    bind = UTCDateTime().process_bind_param(
        datetime(2010, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5))), sqlite.dialect()
    )
    assert bind == datetime(2010, 3, 1, 14, 30, tzinfo=UTC)
    assert bind is not None and bind.tzinfo is UTC


def test_utc_datetime_refuses_naive_and_non_datetimes() -> None:
    column_type = UTCDateTime()
    with pytest.raises(ValueError, match="naive datetime"):
        column_type.process_bind_param(datetime(2010, 3, 1), sqlite.dialect())
    with pytest.raises(TypeError, match="expected a datetime"):
        column_type.process_bind_param("2010-03-01T00:00:00Z", sqlite.dialect())


def test_utc_datetime_marks_naive_database_values_as_utc() -> None:
    loaded = UTCDateTime().process_result_value(datetime(2010, 3, 1, 14, 30), sqlite.dialect())
    assert loaded == datetime(2010, 3, 1, 14, 30, tzinfo=UTC)


def test_str_enum_type_round_trips_members_and_refuses_others() -> None:
    column_type = StrEnumType(OrderSide, 4)
    assert column_type.process_bind_param(OrderSide.SELL, sqlite.dialect()) == "sell"
    assert column_type.process_bind_param("buy", sqlite.dialect()) == "buy"
    assert column_type.process_result_value("sell", sqlite.dialect()) is OrderSide.SELL
    with pytest.raises(ValueError, match="allowed: buy, sell"):
        column_type.process_bind_param("short", sqlite.dialect())


def test_str_enum_type_refuses_a_column_too_short_for_its_values() -> None:
    with pytest.raises(ValueError, match="longer than 3"):
        StrEnumType(OrderSide, 3)
