"""Set-based helpers for bulk writes and lookups, within the SQLite bound-variable limit."""
import datetime
import itertools
import sqlite3
from collections import defaultdict

import peewee

from rucio_tornado.db import database

#: Bound variables per statement: SQLite >= 3.32 allows 32766 (older: 999); PostgreSQL 65535.
MAX_VARIABLES = 32000 if sqlite3.sqlite_version_info >= (3, 32) else 999
#: Names per ``IN (...)`` lookup.
IN_CHUNK = 5000 if MAX_VARIABLES > 999 else 900


def chunks(items, size):
    """Consecutive slices of ``items`` (any iterable) of at most ``size`` elements."""
    items = items if isinstance(items, (list, tuple)) else list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def group_by_scope(keys):
    """``{scope: [names]}`` of ``(scope, name, ...)`` keys, in first-seen order."""
    grouped = defaultdict(list)
    for key in keys:
        grouped[key[0]].append(key[1])
    return grouped


def field_defaults(model, given):
    """``[(column, value)]`` for every field of ``model`` not in ``given`` that has a default."""
    out = []
    for name, field in model._meta.fields.items():
        if name in given or field.default is None:
            continue
        out.append((field.column_name, field.default() if callable(field.default)
                    else field.default))
    return out


def is_postgresql():
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def insert_rows(model, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) with multi-row VALUES statements (SQLite)
    or ``COPY`` (PostgreSQL; there ``rows`` may be a generator, consumed while PostgreSQL
    inserts what it already received).

    The other fields get their model defaults (one timestamp for the whole call). Values must
    already be database values (str, int, bool, datetime, None): this skips peewee's per-value
    conversion, which dominates inserts of 100,000 rows.
    """
    if isinstance(rows, list) and not rows:
        return
    extra = field_defaults(model, set(columns))
    names = [model._meta.fields[c].column_name for c in columns] + [c for c, _ in extra]
    tail = tuple(v for _, v in extra)
    if is_postgresql():
        return _copy_rows(model._meta.table_name, names, rows, tail)
    rows = rows if isinstance(rows, list) else list(rows)
    # The defaults are the same for every row: SQL literals, not bound variables (fewer
    # variables per row = more rows per statement, and no per-row copying of them).
    literals = ",".join(_sqlite_literal(v) for v in tail)
    params_per_row = len(names) - len(tail)
    row_sql = "(" + ",".join([database.param] * params_per_row) + \
        ("," + literals if literals else "") + ")"
    head = 'INSERT INTO "{}" ({}) VALUES '.format(
        model._meta.table_name, ",".join(f'"{n}"' for n in names))
    per_chunk = max(1, MAX_VARIABLES // params_per_row)
    for part in chunks(rows, per_chunk):
        database.execute_sql(head + ",".join([row_sql] * len(part)),
                             list(itertools.chain.from_iterable(part)))


def _sqlite_literal(value):
    """A default value as an SQLite literal (the text SQLite's adapter would store)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime.datetime):
        value = str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for a default of type {type(value).__name__}")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value):
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def _copy_rows(table, names, rows, tail, piece=2000):
    """PostgreSQL: ``COPY ... FROM STDIN`` (several times faster than multi-row INSERTs).

    The text is made piece by piece while psycopg2 sends it, so PostgreSQL inserts one piece
    while the next one is built."""
    tail_text = "".join("\t" + _copy_value(v) for v in tail) + "\n"
    sql = 'COPY "{}" ({}) FROM STDIN'.format(table, ",".join(f'"{n}"' for n in names))
    pieces = (_copy_text(part, tail_text) for part in _parts(rows, piece))
    import psycopg2
    try:
        database.cursor().copy_expert(sql, _Reader(pieces))
    except psycopg2.IntegrityError as exc:     # as peewee raises them for other statements
        raise peewee.IntegrityError(*exc.args) from exc
    except psycopg2.DataError as exc:
        raise peewee.DataError(*exc.args) from exc


def _parts(rows, size):
    """Lists of ``size`` rows of any iterable (a generator is consumed as COPY goes on)."""
    rows = iter(rows)
    while True:
        part = list(itertools.islice(rows, size))
        if not part:
            return
        yield part


def _copy_text(rows, tail_text):
    """Rows in COPY text format: column by column with C-level ``str``/``join``; checked as a
    whole, and escaped value by value only if some value holds a character COPY treats
    specially (rare: names are validated)."""
    columns, nulls = [], 0
    for column in zip(*rows):
        none = column.count(None)
        if not none:
            columns.append(map(str, column))
        elif none == len(column):
            columns.append(("\\N",) * none)
        else:
            columns.append(["\\N" if v is None else str(v) for v in column])
        nulls += none
    text = tail_text.join(map("\t".join, zip(*columns))) + tail_text
    width = len(rows[0]) - 1 + tail_text.count("\t")
    if text.count("\\") == nulls + tail_text.count("\\") * len(rows) and \
            text.count("\t") == width * len(rows) and text.count("\n") == len(rows) and \
            "\r" not in text:
        return text
    return "".join("\t".join([_copy_value(v) for v in row]) + tail_text for row in rows)


class _Reader:
    """A file-like object over text pieces, for ``copy_expert`` (which sends what ``read``
    returns until it returns an empty string)."""

    def __init__(self, pieces):
        self.pieces = pieces

    def read(self, size=-1):
        return next(self.pieces, "")

    readline = read


def in_list(field, values):
    """``field IN (values)`` for the few-row updates and deletes (peewee builds it)."""
    return field.in_(list(values))


def select_by_keys(model, fields, keys, scope_field=None, name_field=None, where=()):
    """Raw rows of ``fields`` of ``model`` whose (scope, name) is in ``keys``, chunked.

    Plain SQL with one placeholder list per chunk: peewee's per-value rendering would cost
    more than the query itself for 100,000 keys. ``where`` adds ``(field, value)`` equalities.

    On PostgreSQL, one index probe per key (a LATERAL subquery over an unnested array), so the
    cost follows the number of keys whatever the statistics say. With ``name IN (...)`` the
    planner filters the names instead: on stale statistics (a table just filled by bulk
    inserts) after an index scan on the equalities alone, on fresh ones after a seq scan when
    they match most rows (``Content`` of one big dataset), reading the whole scope or dataset
    once per chunk.
    There a key given twice yields its row twice (callers build sets and dicts).
    """
    scope_field, name_field = scope_field or model.scope, name_field or model.name
    param = database.param
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    extra = "".join(f' AND "{f.column_name}" = {param}' for f, _ in where)
    extra_params = [v for _, v in where]
    table, scope_col, name_col = model._meta.table_name, scope_field.column_name, \
        name_field.column_name
    postgres = is_postgresql()
    for scope, names in group_by_scope(keys).items():
        for part in chunks(names, IN_CHUNK):
            if postgres:   # OFFSET 0: the subquery stays a parameterized probe, never a join
                sql = (f"SELECT t.* FROM unnest({param}::text[]) AS k(key) CROSS JOIN LATERAL "
                       f'(SELECT {columns} FROM "{table}" WHERE "{scope_col}" = {param} AND '
                       f'"{name_col}" = k.key{extra} OFFSET 0) AS t')
                params = [part, scope, *extra_params]
            else:
                sql = (f'SELECT {columns} FROM "{table}" WHERE "{scope_col}" = {param} AND '
                       f'"{name_col}" IN ({",".join([param] * len(part))}){extra}')
                params = [scope, *part, *extra_params]
            yield from database.execute_sql(sql, params).fetchall()


def lookup(query_for, keys):
    """Rows of ``query_for(scope, names)`` for every ``(scope, name)`` in ``keys``, chunked."""
    for scope, names in group_by_scope(keys).items():
        for part in chunks(names, IN_CHUNK):
            yield from query_for(scope, part).tuples()
