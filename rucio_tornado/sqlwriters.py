"""Bulk inserts as each database does them fastest, below peewee: multi-row VALUES statements
for SQLite (within its bound-variable limit), a streamed ``COPY`` for PostgreSQL.

Used by :meth:`rucio_tornado.db.Database.insert_rows`; values are already database values.
"""
import datetime
import itertools
import sqlite3

import peewee

#: Bound variables per statement: SQLite >= 3.32 allows 32766 (older: 999); PostgreSQL 65535.
MAX_VARIABLES = 32000 if sqlite3.sqlite_version_info >= (3, 32) else 999
#: Bound variables per multi-row INSERT. Python's sqlite3 keeps every prepared statement in its
#: per-connection cache: one of 32000 variables holds ≈ 5 MB there for the life of the
#: connection; one of 4000 ≈ 0.6 MB, and inserts are as fast.
INSERT_VARIABLES = min(MAX_VARIABLES, 4000)


def insert_values(database, table, names, rows, tail):
    """SQLite: multi-row ``INSERT ... VALUES``; the constant ``tail`` values are SQL literals,
    not bound variables (fewer variables per row = more rows per statement)."""
    rows = rows if isinstance(rows, list) else list(rows)
    literals = ",".join(_sqlite_literal(v) for v in tail)
    params_per_row = len(names) - len(tail)
    row_sql = "(" + ",".join([database.param] * params_per_row) + \
        ("," + literals if literals else "") + ")"
    head = 'INSERT INTO "{}" ({}) VALUES '.format(table, ",".join(f'"{n}"' for n in names))
    per_chunk = max(1, INSERT_VARIABLES // params_per_row)
    for start in range(0, len(rows), per_chunk):
        part = rows[start:start + per_chunk]
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


def copy_rows(database, table, names, rows, tail, piece=2000):
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
