"""Set-based helpers for bulk writes and lookups, within the SQLite bound-variable limit."""
import datetime
import io
import sqlite3

import peewee

from rucio_tornado.db import database

#: Bound variables per statement: SQLite >= 3.32 allows 32766 (older: 999); PostgreSQL 65535.
MAX_VARIABLES = 32000 if sqlite3.sqlite_version_info >= (3, 32) else 999
#: Names per ``IN (...)`` lookup.
IN_CHUNK = 5000 if MAX_VARIABLES > 999 else 900


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def field_defaults(model, given):
    """``[(column, value)]`` for every field of ``model`` not in ``given`` that has a default."""
    out = []
    for name, field in model._meta.fields.items():
        if name in given or field.default is None:
            continue
        out.append((field.column_name, field.default() if callable(field.default)
                    else field.default))
    return out


def insert_rows(model, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) with multi-row VALUES statements.

    The other fields get their model defaults (one timestamp for the whole call). Values must
    already be database values (str, int, bool, datetime, None): this skips peewee's per-value
    conversion, which dominates inserts of 100,000 rows.
    """
    if not rows:
        return
    extra = field_defaults(model, set(columns))
    names = [model._meta.fields[c].column_name for c in columns] + [c for c, _ in extra]
    tail = tuple(v for _, v in extra)
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        return _copy_rows(model._meta.table_name, names, rows, tail)
    # the text SQLite's adapter would make of every row's datetimes, made once
    tail = tuple(str(v) if isinstance(v, datetime.datetime) else v for v in tail)
    param = database.param
    row_sql = "(" + ",".join([param] * len(names)) + ")"
    head = 'INSERT INTO "{}" ({}) VALUES '.format(
        model._meta.table_name, ",".join(f'"{n}"' for n in names))
    per_chunk = max(1, MAX_VARIABLES // len(names))
    for part in chunks(rows, per_chunk):
        params = []
        extend = params.extend
        for row in part:
            extend(row)
            extend(tail)
        database.execute_sql(head + ",".join([row_sql] * len(part)), params)


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


def _copy_rows(table, names, rows, tail, batch=50_000):
    """PostgreSQL: ``COPY ... FROM STDIN`` (several times faster than multi-row INSERTs)."""
    tail_text = "".join("\t" + _copy_value(v) for v in tail) + "\n"
    sql = 'COPY "{}" ({}) FROM STDIN'.format(table, ",".join(f'"{n}"' for n in names))
    cursor = database.cursor()
    separators = len(names) - len(tail) - 1
    for part in chunks(rows, batch):
        buffer = io.StringIO()
        write = buffer.write
        for row in part:
            # fast path: plain str() of each value; escape value by value only when the line
            # holds a character COPY treats specially (rare: names are validated)
            line = "\t".join(["\x01" if v is None else str(v) for v in row])
            if "\\" in line or "\n" in line or "\r" in line or \
                    line.count("\t") != separators or line.count("\x01") != row.count(None):
                line = "\t".join([_copy_value(v) for v in row])
            elif "\x01" in line:
                line = line.replace("\x01", "\\N")
            write(line)
            write(tail_text)
        buffer.seek(0)
        cursor.copy_expert(sql, buffer)


def in_list(field, values):
    """``field IN (values)`` for the few-row updates and deletes (peewee builds it)."""
    return field.in_(list(values))


def select_in(model, columns, equal, field, keys):
    """Rows of ``columns`` of ``model`` where the ``equal`` fields match and
    ``(scope, field)`` is one of ``keys`` (chunked). The SQL is generated from the model's
    metadata but executed raw: peewee's per-value conversion dominates 100,000-name lookups."""
    meta, param = model._meta, database.param
    select = ",".join(f'"{meta.fields[c].column_name}"' for c in columns)
    fixed = [f'"{meta.fields[name].column_name}" = {param}' for name in equal]
    head = 'SELECT {} FROM "{}" WHERE {} AND "scope" = {} AND "{}" IN ('.format(
        select, meta.table_name, " AND ".join(fixed) if fixed else "1 = 1", param,
        meta.fields[field].column_name)
    by_scope = {}
    for scope, name in keys:
        by_scope.setdefault(scope, []).append(name)
    postgres = isinstance(database.obj, peewee.PostgresqlDatabase)
    for scope, names in by_scope.items():
        if postgres:   # one statement with an array: one index pass, however many names
            sql = head[:-len(" IN (")] + f" = ANY({param}::text[])"
            yield from database.execute_sql(sql, list(equal.values()) + [scope, names])
            continue
        for part in chunks(names, IN_CHUNK):
            sql = head + ",".join([param] * len(part)) + ")"
            yield from database.execute_sql(sql, list(equal.values()) + [scope] + part)


def lookup(query_for, keys):
    """Rows of ``query_for(scope, names)`` for every ``(scope, name)`` in ``keys``, chunked."""
    by_scope = {}
    for scope, name in keys:
        by_scope.setdefault(scope, []).append(name)
    for scope, names in by_scope.items():
        for part in chunks(names, IN_CHUNK):
            yield from query_for(scope, part).tuples()
