"""Hot statements compiled once: the SQL text and parameter layout of a peewee query are built
the first time it runs on a database; later calls only bind the values and execute.

peewee rebuilds the SQL text of every query it runs (``Select.__sql__``, ``Context.sql``): for
the point reads every authenticated request makes (the token's account, one DID, one account,
one RSE) that was a good part of the request's CPU. A :class:`Compiled` statement is written
as an ordinary peewee query over placeholder arguments, so the models stay the one place that
names tables and columns::

    DID_BY_KEY = Compiled(lambda scope, name: DID.select(DID.did_type, DID.bytes)
                          .where(DID.scope == scope, DID.name == name).limit(1))
    row = DID_BY_KEY.first("user.jdoe", "file_1")   # namedtuple (did_type, bytes) or None

Arguments are text values compared with text columns (names, keys): a placeholder is a
``str`` subclass, which text fields pass to the driver unchanged. Selected fields are converted
as peewee converts them (``Field.python_value``: booleans, SQLite's datetime text).

A statement can also *ride along* the next point read (:func:`riding`): the token's account
check and the read of one DID, account or RSE then make one statement, one round trip to
PostgreSQL instead of two.
"""
import collections
import contextlib
import threading
import weakref

import peewee

from rucio_tornado.db import current, database


class _Placeholder(str):
    """Stands for argument ``index`` while peewee builds the SQL once."""


class Compiled:
    def __init__(self, build):
        self._build = build
        self._by_database = weakref.WeakKeyDictionary()
        self._with_rider = weakref.WeakKeyDictionary()     # {db: {rider statement: SQL}}

    def _compile(self, db):
        count = self._build.__code__.co_argcount
        holders = [_Placeholder(f"\x00arg{i}\x00") for i in range(count)]
        query = self._build(*holders)
        sql, params = query.sql()
        layout = []
        for value in params:
            if isinstance(value, _Placeholder):
                layout.append((True, holders.index(value)))
            else:
                layout.append((False, value))
        if {index for is_arg, index in layout if is_arg} != set(range(count)):
            raise ValueError(f"{self._build}: every argument must be a bound parameter")
        columns = query._returning
        names = [column.name if isinstance(column, peewee.Field) else f"c{i}"
                 for i, column in enumerate(columns)]
        # only the columns whose value the driver does not already give as peewee would
        converters = tuple((i, column.python_value) for i, column in enumerate(columns)
                           if isinstance(column, peewee.Field) and not _as_given(column))
        compiled = (sql, tuple(layout), collections.namedtuple("Row", names, rename=True),
                    converters)
        self._by_database[db] = compiled
        return compiled

    def _compiled(self):
        db = database.obj
        compiled = self._by_database.get(db)
        return self._compile(db) if compiled is None else compiled

    def _params(self, layout, args):
        return [args[value] if is_arg else value for is_arg, value in layout]

    def _execute(self, args):
        sql, layout, row_type, converters = self._compiled()
        return current().execute_compiled(sql, self._params(layout, args)), row_type, converters

    def first(self, *args):
        """The first row (a namedtuple of the selected columns, converted), or None."""
        rider = _take_rider()
        if rider is not None:
            return self._first_with(rider, args)
        cursor, row_type, converters = self._execute(args)
        raw = _fetch_one(cursor)
        return None if raw is None else _convert(row_type, converters, raw)

    def all(self, *args):
        """Every row, as :meth:`first` gives one (a pending rider is settled first)."""
        settle_rider()
        cursor, row_type, converters = self._execute(args)
        return [_convert(row_type, converters, raw) for raw in cursor.fetchall()]

    def _first_with(self, rider, args):
        """:meth:`first` and the rider's statement in one: ``rider's row LEFT JOIN (1, this
        row)``. No row at all: the rider found nothing; a NULL marker: this read found
        nothing."""
        statement, rider_args, accept = rider
        r_sql, r_layout, r_type, r_converters = statement._compiled()
        sql, layout, row_type, converters = self._compiled()
        texts = self._with_rider.setdefault(database.obj, {})
        combined = texts.get(statement)
        if combined is None:
            combined = texts[statement] = (
                f"SELECT rr.*, tt.* FROM ({r_sql}) rr LEFT JOIN "
                f"(SELECT 1 AS rt_found, q.* FROM ({sql}) q) tt ON 1 = 1")
        raw = _fetch_one(current().execute_compiled(
            combined, self._params(r_layout, rider_args) + self._params(layout, args)))
        width = len(r_type._fields)
        accept(None if raw is None else _convert(r_type, r_converters, raw[:width]))
        if raw is None or raw[width] is None:
            return None
        return _convert(row_type, converters, raw[width + 1:])


def _fetch_one(cursor):
    raw = cursor.fetchone()
    cursor.close()          # ends the statement, and with it its SQLite read snapshot
    return raw


_riders = threading.local()


def _take_rider():
    """This thread's pending rider (then no longer pending), or None."""
    rider = getattr(_riders, "pending", None)
    _riders.pending = None
    return rider


@contextlib.contextmanager
def riding(statement, args, accept):
    """Within the block, ``statement.first(*args)`` rides along this thread's next
    :meth:`Compiled.first`: ``accept(row or None)`` is called with its row before that read
    returns, and may raise. The block runs it on its own if no read came first
    (:func:`settle_rider`); leaving the block drops a rider nobody settled."""
    _riders.pending = (statement, args, accept)
    try:
        yield
    finally:
        _riders.pending = None


def settle_rider():
    """Run the pending rider on its own, if there is one (before anything that must not
    happen before it)."""
    rider = _take_rider()
    if rider is not None:
        statement, args, accept = rider
        accept(statement.first(*args))


#: peewee's text conversion (``str`` stays as it is), shared by CharField and TextField.
_TEXT_ADAPT = peewee.CharField.adapt


def _as_given(field):
    """A text column read as is: both drivers return ``str``, which peewee would keep."""
    return type(field).python_value is peewee.Field.python_value and \
        type(field).adapt is _TEXT_ADAPT


def _convert(row_type, converters, raw):
    if not converters:
        return row_type._make(raw)
    values = list(raw)
    for index, convert in converters:
        if values[index] is not None:
            values[index] = convert(values[index])
    return row_type._make(values)
