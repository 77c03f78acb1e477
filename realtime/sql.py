"""Dialect-aware INSERT … ON CONFLICT for PostgreSQL and SQLite (the two supported).

On PostgreSQL through psycopg2 the helpers take a fast path: the statement text is built
once per (table, columns, conflict target, action, RETURNING) and the rows travel as one
JSON document, after the same bind processing SQLAlchemy applies (each column type's bind
processor, so aware-UTC timestamps, enum checks and JSON serialisation are unchanged) and
with the same Python-side column defaults filled in. That skips SQLAlchemy's per-row
"insertmanyvalues" work (~40 us a row) and lets :func:`write_many` send several statements
in one round trip. On a connection in autocommit mode each statement shape is also
prepared on the server once per session (``PREPARE … (jsonb)``, see ``_run_rendered``)
and run with ``EXECUTE``, which skips parsing and planning (~0.1 ms a statement).
Everything else (SQLite, other drivers, column types or values JSON cannot carry exactly,
SQL-expression defaults, rows of differing shapes) takes the SQLAlchemy path, whose
statements are cached too.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from realtime.prepared import MISSING_STATEMENT, STALE_PLAN, fetch_rows, prepared_names
from realtime.prepared import document as encode_document
from stonks.db.conflict import conflict_insert, table_of

__all__ = [
    "BulkWrite",
    "conflict_insert",
    "insert_ignore",
    "insert_ignore_many",
    "insert_statement",
    "table_of",
    "upsert",
    "upsert_many",
    "write_many",
]

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


def insert_statement(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (with ``on_conflict_*``) for ``table``."""
    return conflict_insert(conn.dialect.name, table)


def insert_ignore(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert ``row`` unless it conflicts on ``conflict``; the new id, or None if it existed."""
    fast = _render(conn, table, [row], conflict, update=False, returning_id=True)
    if fast is not None:
        found = _run_rendered(conn, fast)
        value = found[0][0] if found else None
    else:
        statement = insert_statement(conn, table).values(**row).on_conflict_do_nothing(
            index_elements=list(conflict)).returning(table.c.id)
        value = conn.execute(statement).scalar_one_or_none()
    return None if value is None else int(value)


def upsert(
    conn: sa.Connection, table: sa.Table, row: dict[str, Any], conflict: Sequence[str]
) -> int:
    """Insert ``row`` or update the existing one on ``conflict``; returns its id."""
    fast = _render(conn, table, [row], conflict, update=True, returning_id=True)
    if fast is not None:
        [(value,)] = _run_rendered(conn, fast)
        return int(value)
    insert = insert_statement(conn, table).values(**row)
    updated = {k: insert.excluded[k] for k in row if k not in conflict}
    statement = insert.on_conflict_do_update(
        index_elements=list(conflict), set_=updated).returning(table.c.id)
    return int(conn.execute(statement).scalar_one())


def upsert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                conflict: Sequence[str]) -> None:
    """``upsert`` for many rows in few round trips (no ids returned)."""
    write_many(conn, [BulkWrite(table, rows, conflict, True)])


def insert_ignore_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                       conflict: Sequence[str]) -> None:
    """``insert_ignore`` for many rows in few round trips (no ids returned)."""
    write_many(conn, [BulkWrite(table, rows, conflict, False)])


def write_many(conn: sa.Connection, writes: Sequence[BulkWrite]) -> None:
    """Every write in order, as ``upsert_many`` / ``insert_ignore_many`` would do them.

    On PostgreSQL (psycopg2) all of them go in one round trip: one string of statements,
    which the server runs as one implicit transaction when ``conn`` is in autocommit mode
    (else inside the connection's transaction).
    """
    pending: list[_Rendered] = []
    converted: _Converted = {}  # writes may share rows (a table and its history)
    for write in writes:
        if not write.rows:
            continue
        fast = _render(conn, write.table, write.rows, write.conflict, update=write.update,
                       returning_id=False, keys=write.keys, converted=converted)
        if fast is not None:
            pending.extend(fast)
            continue
        if pending:  # keep the order of the writes
            _run_rendered(conn, pending)
            pending = []
        _write_slow(conn, write)
    if pending:
        _run_rendered(conn, pending)


# --- server-side prepared statements (PostgreSQL, autocommit) -------------------------
#
# A statement shape is prepared once per session, in a round trip of its own, and then run
# as ``EXECUTE name(<document>)``; several go in one string as before, sent on the
# psycopg2 cursor (``fetch_rows``: no SQLAlchemy result set-up). The names a session has
# prepared are kept in the pooled connection's ``info``, which lives as long as the DBAPI
# connection (a replaced connection starts empty). Prepared statements outlive
# transactions, so a failed string leaves them in place. Only autocommit connections use
# them: should a session have lost one (``DEALLOCATE ALL``, ``DISCARD ALL``) the failed
# string ran as its own implicit transaction, so it is simply prepared again and re-sent;
# inside an open transaction that error would abort the caller's work.


def _uses_prepared(conn: sa.Connection) -> bool:
    dbapi = conn.connection.dbapi_connection
    return bool(getattr(dbapi, "autocommit", False))


def _prepare(conn: sa.Connection, specs: Iterable[_Spec], *, again: bool = False) -> None:
    names = prepared_names(conn)
    missing = {spec.name: spec for spec in specs if again or spec.name not in names}
    if again:
        for name in missing:
            names.discard(name)
            try:  # gone already, or outdated: either way it is prepared afresh below
                fetch_rows(conn, f"DEALLOCATE {name}")
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "pgcode", None) != MISSING_STATEMENT:
                    raise
    if missing:
        fetch_rows(conn, ";".join(spec.prepare for spec in missing.values()))
        names.update(missing)


def _run_rendered(conn: sa.Connection,
                  rendered: Sequence[_Rendered]) -> list[tuple[Any, ...]]:
    """The rendered statements in one round trip; the last one's rows."""
    documents = tuple(r.document for r in rendered)
    if not _uses_prepared(conn):
        # Through SQLAlchemy, which begins the connection's transaction if need be.
        result = conn.exec_driver_sql(";".join(r.spec.template for r in rendered), documents)
        return [tuple(row) for row in result] if result.returns_rows else []
    specs = [r.spec for r in rendered]
    _prepare(conn, specs)
    text = ";".join(f"EXECUTE {r.spec.name}(%s)" for r in rendered)
    try:
        return fetch_rows(conn, text, documents)
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) not in (MISSING_STATEMENT, STALE_PLAN):
            raise
    _prepare(conn, specs, again=True)
    return fetch_rows(conn, text, documents)


# --- the SQLAlchemy path --------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _slow_statement(dialect_name: str, table: sa.Table, keys: tuple[str, ...],
                    conflict: tuple[str, ...], update: bool) -> Any:
    insert = conflict_insert(dialect_name, table)
    if update:
        statement = insert.on_conflict_do_update(
            index_elements=list(conflict),
            set_={k: insert.excluded[k] for k in keys if k not in conflict})
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(conflict))
    # With RETURNING, SQLAlchemy's "insertmanyvalues" sends the rows as multi-row VALUES
    # batches from one cached compilation; without it psycopg2 runs one INSERT per row.
    # (``.values(rows)`` would compile every row's parameters: far slower.)
    return statement.returning(table.c.id)


def _write_slow(conn: sa.Connection, write: BulkWrite) -> None:
    keys = write.keys
    rows: list[Any] = (list(write.rows) if keys is None
                       else [dict(zip(keys, row, strict=True)) for row in write.rows])
    statement = _slow_statement(conn.dialect.name, write.table, tuple(rows[0]),
                                tuple(write.conflict), write.update)
    conn.execute(statement, rows).all()


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

    #: The statement up to its document (what an error names).
    prefix: str
    #: The statement with ``%s`` for its document (a DBAPI parameter).
    template: str
    #: The server-side prepared statement's name and its ``PREPARE name(jsonb) AS …``.
    name: str
    prepare: str
    #: Per key of the rows: the key, what turns its value into the JSON document's (the
    #: column type's bind processor, then ISO text for dates and times) or None, and the
    #: column type (whose values are converted alike).
    columns: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]
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


_names = itertools.count(1)
_names_lock = threading.Lock()


def _statement_name() -> str:
    """A prepared-statement name unique in this process (so in every session it uses)."""
    with _names_lock:
        return f"rt_bulk_{next(_names)}"


class _Rendered(NamedTuple):
    """One statement: its shape and the JSON document of its rows."""

    spec: _Spec
    document: str


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
    values = ", ".join(f"(r->>{i})::{cast}" for i, cast in enumerate(casts))
    prefix = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
              f"SELECT {values} FROM jsonb_array_elements(")
    suffix = "::jsonb) AS r" + suffix
    name = _statement_name()
    return _Spec(
        prefix=prefix,
        template=f"{prefix.replace('%', '%%')}%s{suffix.replace('%', '%%')}",
        name=name,
        prepare=f"PREPARE {name}(jsonb) AS {prefix}$1{suffix}",
        columns=tuple((k, _converter(columns[k], dialect), columns[k].type) for k in keys),
        defaults=tuple(defaults),
    )


#: Values converted for documents, by (column type, value object): rows share objects (a
#: timestamp, an enum value, a JSON document), each converted once. An entry holds its
#: value, so no other object takes that ``id`` while the entry lives.
_Converted = dict[tuple[int, int], tuple[Any, Any]]


def _converted(values: Sequence[Any], convert: Callable[[Any], Any] | None,
               sql_type: Any, done: _Converted) -> Sequence[Any]:
    """One column's values for the document."""
    if convert is None:
        return values
    type_key = id(sql_type)
    converted = []
    for value in values:
        key = (type_key, id(value))
        entry = done.get(key)
        if entry is None:
            entry = done[key] = (value, convert(value))
        converted.append(entry[1])
    return converted


def _is_psycopg2(conn: sa.Connection) -> bool:
    dialect = conn.dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


def _render(conn: sa.Connection, table: sa.Table, rows: Sequence[Any],
            conflict: Sequence[str], *, update: bool, returning_id: bool,
            keys: tuple[str, ...] | None = None, converted: _Converted | None = None,
            ) -> list[_Rendered] | None:
    """The statements writing ``rows`` (mappings, or value sequences in the order of
    ``keys``; one statement per ``PAGE_ROWS``), or None for the slow path.

    Python-side defaults are computed once per statement (one ``created_at`` for the rows
    written together), not once per row.
    """
    if not _is_psycopg2(conn):
        return None
    by_key = keys is None
    if keys is None:
        keys = tuple(rows[0])
    spec = _spec(conn.dialect, table, keys, tuple(conflict), update, returning_id)
    if spec is None:
        return None
    width = len(keys)
    if any(len(row) != width for row in rows):
        return None  # rows of differing shapes
    done: _Converted = {} if converted is None else converted
    statements = []
    for start in range(0, len(rows), PAGE_ROWS):
        page = rows[start:start + PAGE_ROWS]
        try:
            values = ([[row[key] for row in page] for key in keys] if by_key
                      else list(zip(*page, strict=True)))
        except KeyError:
            return None  # rows of differing shapes
        try:
            columns: list[Iterable[Any]] = [
                _converted(column, convert, sql_type, done)
                for column, (_, convert, sql_type) in zip(values, spec.columns, strict=True)]
        except Exception as exc:  # a value refused by its type, reported as SQLAlchemy does
            raise sa.exc.StatementError(f"({type(exc).__module__}.{type(exc).__name__}) "
                                        f"{exc}", spec.prefix, None, exc) from exc
        columns += [itertools.repeat(make(), len(page)) for make in spec.defaults]
        try:
            document = encode_document(list(zip(*columns, strict=True)))
        except (TypeError, ValueError):
            return None  # a value JSON cannot carry exactly (NaN, bytes, ...)
        statements.append(_Rendered(spec, document))
    return statements
