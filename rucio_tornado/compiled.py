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
"""
import collections
import weakref

import peewee

from rucio_tornado.db import current, database


class _Placeholder(str):
    """Stands for argument ``index`` while peewee builds the SQL once."""


class Compiled:
    def __init__(self, build):
        self._build = build
        self._by_database = weakref.WeakKeyDictionary()

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

    def _execute(self, args):
        db = database.obj
        compiled = self._by_database.get(db)
        if compiled is None:
            compiled = self._compile(db)
        sql, layout, row_type, converters = compiled
        params = [args[value] if is_arg else value for is_arg, value in layout]
        return current().execute_compiled(sql, params), row_type, converters

    def first(self, *args):
        """The first row (a namedtuple of the selected columns, converted), or None."""
        cursor, row_type, converters = self._execute(args)
        raw = cursor.fetchone()
        cursor.close()          # ends the statement, and with it its SQLite read snapshot
        return None if raw is None else _convert(row_type, converters, raw)

    def all(self, *args):
        """Every row, as :meth:`first` gives one."""
        cursor, row_type, converters = self._execute(args)
        return [_convert(row_type, converters, raw) for raw in cursor.fetchall()]


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
