"""Column types and table mixins shared by every table of the schema.

The choices here are the schema's conventions, made once:

* primary keys are ``BIGINT`` identities on PostgreSQL and ``INTEGER`` on SQLite (the only
  type SQLite auto-increments);
* prices and quantities are ``NUMERIC(20, 8)``, cash amounts ``NUMERIC(20, 4)``, fractions
  used in money arithmetic ``NUMERIC(12, 6)``; analytical scores are ``DOUBLE PRECISION``;
* timestamps are timezone-aware UTC (``UTCDateTime``);
* enumerations are short strings guarded by a named CHECK constraint, not native enum types,
  so adding a value is a constraint swap rather than an ``ALTER TYPE`` dance;
* every constraint and index gets a deterministic name from ``NAMING_CONVENTION``, which
  Alembic's batch mode on SQLite and every downgrade rely on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlmodel import Field, SQLModel

NAMING_CONVENTION: dict[str, str] = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

# Set before any table is declared: names are computed when constraints attach to tables.
SQLModel.metadata.naming_convention = NAMING_CONVENTION

OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT"]

#: Longest identifier PostgreSQL keeps; longer names would be silently truncated.
MAX_IDENTIFIER_LENGTH = 63

ID_TYPE: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PRICE = sa.Numeric(20, 8)
QUANTITY = sa.Numeric(20, 8)
CASH = sa.Numeric(20, 4)
FRACTION = sa.Numeric(12, 6)
SCORE: sa.Double[float] = sa.Double()
TICKER = sa.String(16)
HASH = sa.String(64)
JSON = sa.JSON()


def utcnow() -> datetime:
    """The current time as an aware UTC datetime; the default of every timestamp column."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp column that only accepts aware datetimes and always returns aware UTC.

    PostgreSQL stores ``timestamptz`` natively; SQLite keeps no offset at all, so values are
    normalised to UTC on the way in and the offset is put back on the way out. A naive
    datetime is refused because its meaning (local time? UTC?) cannot be known here.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: pass an aware datetime "
                "(e.g. datetime.now(UTC))"
            )
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            # SQLite drops the offset; everything was written as UTC.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(sa.types.TypeDecorator[enum.StrEnum]):
    """A ``VARCHAR`` column holding the values of a ``StrEnum``; loads back as enum members.

    The database-side guard is a CHECK constraint made by ``enum_check``; this type refuses
    unknown values before they reach the database, with a message naming the enum.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_class: type[enum.StrEnum], length: int = 32) -> None:
        longest = max(len(member.value) for member in enum_class)
        if longest > length:
            raise ValueError(f"{enum_class.__name__} has a value longer than {length}")
        super().__init__(length)
        self.enum_class = enum_class

    @property
    def python_type(self) -> type[enum.StrEnum]:
        return self.enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            return self.enum_class(value).value
        except ValueError:
            allowed = ", ".join(member.value for member in self.enum_class)
            raise ValueError(
                f"{value!r} is not a valid {self.enum_class.__name__} (allowed: {allowed})"
            ) from None

    def process_result_value(self, value: Any, dialect: Dialect) -> enum.StrEnum | None:
        if value is None:
            return None
        return self.enum_class(value)


def enum_column(enum_class: type[enum.StrEnum], length: int = 32) -> StrEnumType:
    """The column type for ``enum_class``; pair it with ``enum_check`` in ``__table_args__``."""
    return StrEnumType(enum_class, length)


def enum_check(column: str, values: type[enum.StrEnum] | Iterable[str]) -> sa.CheckConstraint:
    """A CHECK constraint named ``ck_<table>_<column>`` allowing only ``values`` in ``column``."""
    members = [str(getattr(value, "value", value)) for value in values]
    quoted = ", ".join("'" + member.replace("'", "''") + "'" for member in members)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=column)


def unit_interval_check(column: str, *, signed: bool = False) -> sa.CheckConstraint:
    """A CHECK constraint keeping a score in [0, 1] (or [-1, 1] when ``signed``)."""
    low = -1 if signed else 0
    return sa.CheckConstraint(
        f"{column} IS NULL OR ({column} >= {low} AND {column} <= 1)", name=f"{column}_range"
    )


def id_field() -> Any:
    """The surrogate primary key: ``None`` until the row is flushed."""
    return Field(default=None, primary_key=True, sa_type=ID_TYPE)


def fk_field(target: str, *, ondelete: OnDelete, nullable: bool = False, index: bool = True) -> Any:
    """A ``BIGINT`` foreign key to ``target`` (``"table.id"``) with an explicit ON DELETE.

    A non-nullable key has no default, so forgetting it fails at construction time.
    """
    if nullable:
        return Field(
            default=None,
            foreign_key=target,
            ondelete=ondelete,
            nullable=True,
            index=index,
            sa_type=ID_TYPE,
        )
    return Field(
        foreign_key=target, ondelete=ondelete, nullable=False, index=index, sa_type=ID_TYPE
    )


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    """An aware-UTC timestamp column; a non-nullable one has no default and must be given."""
    if nullable:
        return Field(default=None, nullable=True, index=index, sa_type=UTCDateTime)
    return Field(nullable=False, index=index, sa_type=UTCDateTime)


class IdMixin(SQLModel):
    """Adds the surrogate primary key ``id``; list it as the last base so ``id`` comes first."""

    id: int | None = id_field()


class CreatedAtMixin(SQLModel):
    """Adds ``created_at``: when the row was first written (set by us, or by the server)."""

    created_at: datetime = Field(
        default_factory=utcnow,
        nullable=False,
        sa_type=UTCDateTime,
        sa_column_kwargs={"server_default": sa.text("CURRENT_TIMESTAMP")},
    )


class TimestampsMixin(CreatedAtMixin):
    """Adds ``created_at`` and ``updated_at`` for rows that change after they are written."""

    updated_at: datetime = Field(
        default_factory=utcnow,
        nullable=False,
        sa_type=UTCDateTime,
        sa_column_kwargs={
            "server_default": sa.text("CURRENT_TIMESTAMP"),
            "onupdate": utcnow,
        },
    )
