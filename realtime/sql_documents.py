"""The PostgreSQL (psycopg2) fast path of :mod:`realtime.sql`: rows as one JSON document.

The statement text is built once per (table, columns, conflict target, action, RETURNING)
and the rows travel as one JSON document, after the same bind processing SQLAlchemy
applies (each column type's bind processor, so aware-UTC timestamps, enum checks and JSON
serialisation are unchanged) and with the same Python-side column defaults filled in. That
skips SQLAlchemy's per-row "insertmanyvalues" work (~40 us a row) and lets several
statements go in one round trip. On a connection in autocommit mode each statement shape
is also prepared on the server once per session (``PREPARE … (jsonb)``, see
:mod:`realtime.sql_prepared`) and run with ``EXECUTE``, which skips parsing and planning
(~0.1 ms a statement); there :func:`render_combined` can also write several tables in one
statement. :func:`render` returns None (use the SQLAlchemy path) for SQLite, other
drivers, column types or values JSON cannot carry exactly, SQL-expression defaults and
rows of differing shapes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from realtime.prepared import document as encode_document
from realtime.prepared import is_psycopg2
from realtime.sql_prepared import Rendered, Statement, statement_name, uses_prepared

#: Rows per multi-row ``VALUES`` statement (SQLAlchemy's insertmanyvalues page size).
PAGE_ROWS = 1000


class BulkWrite(NamedTuple):
    """Rows for one table: upserted on ``conflict`` (``update``) or inserted unless present.

    A row is a mapping of column key to value or, with ``keys``, a sequence of the values
    of ``keys`` in that order (no dictionary to build or look up per value)."""

    table: sa.Table
    rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]]
    conflict: Sequence[str]
    update: bool
    keys: tuple[str, ...] | None = None


# --- the PostgreSQL (psycopg2) path ---------------------------------------------------
#
# The rows travel as one JSON document, ``[[v1, v2, ...], ...]``, expanded by
# ``jsonb_array_elements`` and cast column by column from text, which is what the server
# does with a quoted literal in ``VALUES``: the statement text stays small and constant
# (cheap to parse and plan), and the client renders it with the C JSON encoder instead of
# adapting every value. Casts leave out the type modifier (``VARCHAR``, not
# ``VARCHAR(16)``), so the column's own assignment rules apply: too long a string is an
# error, as it is on the SQLAlchemy path, not silently truncated.

#: Column types whose values round-trip exactly through JSON text and a cast.
_JSON_SAFE = (sa.Integer, sa.Numeric, sa.Float, sa.String, sa.Boolean, sa.Date, sa.Time, sa.JSON)
_TYPE_MODIFIER = re.compile(r"\(\s*\d+\s*(?:,\s*\d+\s*)?\)")


@dataclass(frozen=True)
class _Spec:
    """What rendering rows for one statement shape needs, computed once."""

    statement: Statement
    #: ``INSERT INTO table (columns)``: the keys' columns, then the defaulted ones.
    insert: str
    #: Per column of ``insert``, the type its JSON text is cast to.
    casts: tuple[str, ...]
    #: `` ON CONFLICT … [RETURNING id]``.
    conflict: str
    #: The keys and their column types: rows converted for one spec serve another alike.
    conversion: tuple[str, ...]
    #: Per key of the rows whose values need converting: its position, what turns its
    #: value into the JSON document's (the column type's bind processor, then ISO text for
    #: dates and times) and the ``id`` of the column type (whose values convert alike).
    converting: tuple[tuple[int, Callable[[Any], Any], int], ...]
    #: Columns absent from the rows with a Python-side default: per column, a function
    #: giving the value for the document.
    defaults: tuple[Callable[[], Any], ...]


def _default_value(default: Any) -> Callable[[], Any] | None:
    """A function giving a column default's value, or None when only SQL could give it."""
    if default.is_scalar:
        value = default.arg
        return lambda: value
    # SQLAlchemy wraps a callable default that takes no argument (``utcnow``, ``dict``) in
    # a function taking the execution context and keeps the original as ``__wrapped__``;
    # a default that reads the context has no meaning here.
    function = getattr(default.arg, "__wrapped__", None) if default.is_callable else None
    if function is None:
        return None
    return lambda: function()


def _sql_type(column: sa.Column[Any]) -> Any:
    sql_type: Any = column.type
    while isinstance(sql_type, sa.TypeDecorator):
        sql_type = sql_type.impl_instance
    return sql_type


def _converter(column: sa.Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of ``column`` before handing it to the driver, then
    the value's JSON form (ISO text for dates and times)."""
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    if not isinstance(_sql_type(column), sa.DateTime | sa.Date | sa.Time):
        return processor
    if processor is None:
        return _iso
    return lambda value: _iso(processor(value))


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _cast(column: sa.Column[Any], dialect: Dialect) -> str | None:
    """The type to cast the column's JSON text to, or None if that would not be exact."""
    sql_type = _sql_type(column)
    if isinstance(sql_type, sa.DateTime):
        # A naive TIMESTAMP would drop an aware value's offset instead of converting it.
        if not sql_type.timezone:
            return None
    elif not isinstance(sql_type, _JSON_SAFE) or isinstance(sql_type, sa.Enum):
        return None
    compiled = dialect.type_compiler_instance.process(sql_type.dialect_impl(dialect))
    if "COLLATE" in compiled or "[" in compiled:
        return None
    cast = _TYPE_MODIFIER.sub("", compiled)
    # An integer column given 2.0 takes it as a literal would (numeric, then rounded).
    return f"NUMERIC::{cast}" if isinstance(sql_type, sa.Integer) else cast


def _compose(convert: Callable[[Any], Any], make: Callable[[], Any]) -> Callable[[], Any]:
    return lambda: convert(make())


@functools.lru_cache(maxsize=512)
def _spec(dialect: Dialect, table: sa.Table, keys: tuple[str, ...],
          conflict: tuple[str, ...], update: bool, returning_id: bool) -> _Spec | None:
    """The statement shape for rows with ``keys``; None when it needs the SQLAlchemy path."""
    columns = table.c
    if any(k not in columns for k in (*keys, *conflict)) or (
            returning_id and "id" not in columns):
        return None
    written = [columns[k] for k in keys]
    defaults = []
    for column in columns:
        if column.key in keys or column.default is None:
            continue
        make = _default_value(column.default)
        if make is None:
            return None
        convert = _converter(column, dialect)
        defaults.append(make if convert is None else _compose(convert, make))
        written.append(column)
    casts = [_cast(column, dialect) for column in written]
    if None in casts:
        return None
    quote = dialect.identifier_preparer.quote
    target = ", ".join(quote(columns[c].name) for c in conflict)
    if update:
        assignments = [f"{quote(columns[k].name)} = EXCLUDED.{quote(columns[k].name)}"
                       for k in keys if k not in conflict]
        if not assignments:
            return None
        suffix = f" ON CONFLICT ({target}) DO UPDATE SET {', '.join(assignments)}"
    else:
        suffix = f" ON CONFLICT ({target}) DO NOTHING"
    if returning_id:
        suffix += f" RETURNING {quote(columns['id'].name)}"
    names = ", ".join(quote(column.name) for column in written)
    insert = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names})"
    values = ", ".join(f"(r->>{i})::{cast}" for i, cast in enumerate(casts))
    prefix = f"{insert} SELECT {values} FROM jsonb_array_elements("
    name = statement_name()
    return _Spec(
        statement=Statement(
            prefix=prefix,
            template=f"{prefix.replace('%', '%%')}%s::jsonb) AS r{suffix.replace('%', '%%')}",
            name=name,
            prepare=f"PREPARE {name}(jsonb) AS {prefix}$1) AS r{suffix}"),
        insert=insert,
        casts=tuple(str(cast) for cast in casts),
        conflict=suffix,
        conversion=tuple(f"{k}: {columns[k].type!r}" for k in keys),
        converting=tuple((i, convert, id(columns[k].type)) for i, (k, convert) in enumerate(
            (k, _converter(columns[k], dialect)) for k in keys) if convert is not None),
        defaults=tuple(defaults),
    )


#: Values converted for documents, by (column type, value object): rows share objects (a
#: timestamp, an enum value, a JSON document), each converted once. An entry holds its
#: value, so no other object takes that ``id`` while the entry lives.
Converted = dict[tuple[int, int], tuple[Any, Any]]


def _document_rows(spec: _Spec, rows: Sequence[Any], keys: tuple[str, ...], *,
                   by_key: bool, done: Converted) -> list[Sequence[Any]] | None:
    """The values of ``rows`` in the order of ``keys``, converted for the JSON document
    (each value object of a column type once, see ``Converted``); None when the rows
    differ in shape."""
    width = len(keys)
    if any(len(row) != width for row in rows):
        return None
    if by_key:
        try:
            rows = [[row[key] for key in keys] for row in rows]
        except KeyError:
            return None
    converting = spec.converting
    if not converting:
        return list(rows)
    found: list[Sequence[Any]] = []
    try:
        for row in rows:
            values = list(row)
            for index, convert, type_key in converting:
                value = values[index]
                entry = done.get((type_key, id(value)))
                if entry is None:
                    entry = done[(type_key, id(value))] = (value, convert(value))
                values[index] = entry[1]
            found.append(values)
    except Exception as exc:  # a value refused by its type, reported as SQLAlchemy does
        raise sa.exc.StatementError(f"({type(exc).__module__}.{type(exc).__name__}) "
                                    f"{exc}", spec.statement.prefix, None, exc) from exc
    return found


def render(conn: sa.Connection, table: sa.Table, rows: Sequence[Any],
           conflict: Sequence[str], *, update: bool, returning_id: bool,
           keys: tuple[str, ...] | None = None, converted: Converted | None = None,
           ) -> list[Rendered] | None:
    """The statements writing ``rows`` (mappings, or value sequences in the order of
    ``keys``; one statement per ``PAGE_ROWS``), or None for the slow path.

    Python-side defaults are computed once per statement (one ``created_at`` for the rows
    written together), not once per row.
    """
    if not is_psycopg2(conn):
        return None
    by_key = keys is None
    if keys is None:
        keys = tuple(rows[0])
    spec = _spec(conn.dialect, table, keys, tuple(conflict), update, returning_id)
    if spec is None:
        return None
    done: Converted = {} if converted is None else converted
    statements = []
    for start in range(0, len(rows), PAGE_ROWS):
        page = rows[start:start + PAGE_ROWS]
        found = _document_rows(spec, page, keys, by_key=by_key, done=done)
        if found is None:
            return None  # rows of differing shapes
        defaults = [make() for make in spec.defaults]
        try:
            document = encode_document([[*row, *defaults] for row in found] if defaults
                                       else found)
        except (TypeError, ValueError):
            return None  # a value JSON cannot carry exactly (NaN, bytes, ...)
        statements.append(Rendered(spec.statement, document))
    return statements


# --- several tables in one statement (prepared connections) ----------------------------
#
# Each write becomes a data-modifying CTE (the last one the main statement), all fed by one
# JSON document: ``[rows_0, rows_1, ..., defaults_of_write_0, defaults_of_write_1, ...]``.
# Writes given the same rows object with the same keys and column types share one
# ``rows_i`` (a table and its history), and a write's Python-side defaults travel once, not
# once per row. The writes go to different tables, so that they run in one snapshot changes
# nothing: no write could see another's rows. One statement instead of several saves the
# server's per-statement work (executor start-up, parameter parsing), which dominates
# small batches.


#: Per write of a combined statement: table, keys, conflict target, update, rows' index.
_Part = tuple[sa.Table, tuple[str, ...], tuple[str, ...], bool, int]


def render_combined(conn: sa.Connection, writes: Sequence[BulkWrite]) -> Rendered | None:
    """One statement doing all ``writes`` (non-empty, each to a different table), or None
    when they need separate statements (see :func:`render`) or ``conn`` does not run
    prepared statements."""
    if not (is_psycopg2(conn) and uses_prepared(conn)) or not writes or len(
            {write.table for write in writes}) != len(writes):
        return None
    groups: dict[tuple[int, tuple[str, ...]], int] = {}
    documents: list[Any] = []
    defaults: list[list[Any]] = []
    parts: list[_Part] = []
    done: Converted = {}
    for write in writes:
        rows = write.rows
        if not rows or len(rows) > PAGE_ROWS:
            return None
        keys = tuple(rows[0]) if write.keys is None else write.keys
        conflict = tuple(write.conflict)
        spec = _spec(conn.dialect, write.table, keys, conflict, write.update, False)
        if spec is None:
            return None
        shared = (id(rows), spec.conversion)
        group = groups.get(shared)
        if group is None:
            found = _document_rows(spec, rows, keys, by_key=write.keys is None, done=done)
            if found is None:
                return None
            group = groups[shared] = len(documents)
            documents.append(found)
        defaults.append([make() for make in spec.defaults])
        parts.append((write.table, keys, conflict, write.update, group))
    try:
        document = encode_document([*documents, *defaults])
    except (TypeError, ValueError):
        return None  # a value JSON cannot carry exactly (NaN, bytes, ...)
    return Rendered(_combined(conn.dialect, tuple(parts), len(documents)), document)


@functools.lru_cache(maxsize=128)
def _combined(dialect: Dialect, parts: tuple[_Part, ...], groups: int) -> Statement:
    inserts = []
    for index, (table, keys, conflict, update, group) in enumerate(parts):
        spec = _spec(dialect, table, keys, conflict, update, False)
        assert spec is not None  # rendered just before
        width = len(keys)
        values = [f"(r->>{i})::{cast}" for i, cast in enumerate(spec.casts[:width])]
        values += [f"(($1->{groups + index})->>{i})::{cast}"
                   for i, cast in enumerate(spec.casts[width:])]
        inserts.append(f"{spec.insert} SELECT {', '.join(values)} "
                       f"FROM jsonb_array_elements($1->{group}) AS r{spec.conflict}")
    *ctes, main = inserts
    body = main if not ctes else "WITH " + ", ".join(
        f"w{i} AS ({cte})" for i, cte in enumerate(ctes)) + " " + main
    name = statement_name()
    return Statement(prefix=body, template="", name=name,
                      prepare=f"PREPARE {name}(jsonb) AS {body}")
