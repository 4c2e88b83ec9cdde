"""Set-based helpers for bulk writes and lookups, within the SQLite bound-variable limit;
giving back the memory of a bulk call."""
import ctypes
import ctypes.util
import gc
import logging
import sys
from collections import defaultdict

from rucio_tornado.db import current, database
from rucio_tornado.sqlwriters import MAX_VARIABLES

log = logging.getLogger(__name__)
#: Request bodies from this size on (a bulk registration or attachment) are followed by
#: :func:`release_memory`.
RELEASE_BODY_BYTES = 1 << 20

#: Names per ``IN (...)`` lookup (and per chunk of any set-based loop over keys).
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


def by_scope(keys, size=IN_CHUNK):
    """``(scope, names)`` pairs covering ``(scope, name, ...)`` keys, at most ``size`` names
    each: the one chunking of every set-based loop over DIDs."""
    for scope, names in group_by_scope(keys).items():
        for part in chunks(names, size):
            yield scope, part


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
    """Insert ``rows`` (tuples in ``columns`` order) in bulk: multi-row VALUES statements
    (SQLite) or ``COPY`` (PostgreSQL; there ``rows`` may be a generator, consumed while
    PostgreSQL inserts what it already received).

    The other fields get their model defaults (one timestamp for the whole call). Values must
    already be database values (str, int, bool, datetime, None): this skips peewee's per-value
    conversion, which dominates inserts of 100,000 rows.
    """
    if isinstance(rows, list) and not rows:
        return
    extra = field_defaults(model, set(columns))
    names = [model._meta.fields[c].column_name for c in columns] + [c for c, _ in extra]
    current().insert_rows(model._meta.table_name, names, rows, tuple(v for _, v in extra))


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
    postgres = current().is_postgresql
    for scope, names in group_by_scope(keys).items():
        for part in chunks(names, IN_CHUNK):
            if postgres:   # OFFSET 0: the subquery stays a parameterized probe, never a join
                sql = (f"SELECT t.* FROM unnest({param}::text[]) AS k(key) CROSS JOIN LATERAL "
                       f'(SELECT {columns} FROM "{table}" WHERE "{scope_col}" = {param} AND '
                       f'"{name_col}" = k.key{extra} OFFSET 0) AS t')
                params = [text_array(part), scope, *extra_params]
            else:
                sql = (f'SELECT {columns} FROM "{table}" WHERE "{scope_col}" = {param} AND '
                       f'"{name_col}" IN ({",".join([param] * len(part))}){extra}')
                params = [scope, *part, *extra_params]
            yield from database.execute_sql(sql, params).fetchall()


def text_array(values):
    """``values`` (strings) as ONE PostgreSQL ``text[]`` literal, for one bound parameter.

    psycopg2 adapts a Python list element by element, looking up two methods by a fresh name
    string each time; CPython's type cache keeps the last 4096 of those strings alive, spread
    over the allocator's arenas by the 100,000 other objects of a bulk call: after such a call
    they alone held ≈ 60 MB of otherwise empty arenas. One literal is also faster."""
    text = '","'.join(values)
    if "\\" in text or '"' in text:
        text = '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return '{"' + text + '"}'


def lookup(query_for, keys):
    """Rows of ``query_for(scope, names)`` for every ``(scope, name)`` in ``keys``, chunked."""
    for scope, names in group_by_scope(keys).items():
        for part in chunks(names, IN_CHUNK):
            yield from query_for(scope, part).tuples()


def _glibc(name, *argtypes):
    """A glibc function (None elsewhere, e.g. musl)."""
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function


_malloc_trim = _glibc("malloc_trim", ctypes.c_size_t)
_mallopt = _glibc("mallopt", ctypes.c_int, ctypes.c_int)
_M_ARENA_MAX = -8


def limit_malloc_arenas(count):
    """At most ``count`` glibc malloc arenas for the process (glibc's default: 8 per core).

    A bulk call's body is parsed and checked in whichever executor thread runs it, and each
    thread allocates from an arena of its own that keeps the call's fragments: with eight
    PostgreSQL executor threads the RSS stayed +34 to +40 MB over idle after ten
    100,000-file calls, +15 to +24 with one arena, and listings ran as fast
    (docs/PERFORMANCE.md).
    Call it before the threads start. False where it cannot be set (not glibc)."""
    return _mallopt is not None and _mallopt(_M_ARENA_MAX, count) == 1


def release_memory():
    """After a bulk call (run it in the database executor once the request is done): its
    objects are freed by then, but not their memory. Collect the cycles; empty CPython's type
    cache, which holds the last attribute-name strings looked up (psycopg2 makes a fresh
    ``"getquoted"``, ``"prepare"`` ... for every parameter it adapts): made during the call,
    each sits among the call's 100,000 freed objects and keeps Python's allocator from giving
    back a whole 1 MB arena (PostgreSQL: +80 MB after two 100,000-file calls without this);
    on SQLite, open the executor's connection anew (:meth:`~rucio_tornado.db.Database.
    renew_connection`: its cache of prepared statements, made during the call, kept ≈ 5 MB
    per 100,000-file call, +59 MB after ten), and hand the free pages of every malloc arena
    back to the system
    (``malloc_trim``: the body was parsed and checked in executor threads, whose arenas
    glibc never trims by itself). Then refresh PostgreSQL's planner statistics of the tables
    the call grew (:meth:`~rucio_tornado.db.Database.refresh_statistics`)."""
    db = current()
    try:
        gc.collect()
        sys._clear_type_cache()
        if db is not None:
            db.renew_connection()
        if _malloc_trim is not None:
            _malloc_trim(0)
    except Exception:   # only memory is at stake: never an error for anyone
        log.warning("releasing memory after a bulk call failed", exc_info=True)
    try:
        if db is not None:
            db.refresh_statistics()     # the rows just written: plans for the next listings
    except Exception:   # only plans are at stake
        log.warning("refreshing planner statistics after a bulk call failed", exc_info=True)
