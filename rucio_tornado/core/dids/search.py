"""DID search: the client's filter format turned into one index-backed, streamed query.

``filters`` is a list of AND-groups (dicts), OR-ed together; keys may carry an operator suffix
(``.gt``, ``.lt``, ``.gte``, ``.lte``, ``.ne``). Keys are DID columns, ``created_before/after``,
``updated_before/after``, ``type``, or free-form metadata (an ``EXISTS`` on ``DIDMeta``).
A name pattern ``prefix*`` becomes ``LIKE 'prefix%'``, which both databases answer from the
``(scope, name)`` primary key (SQLite runs with ``case_sensitive_like``, PostgreSQL with the C
collation). Everybody may search (read-only), over one scope or all of them.
"""
import ast
import datetime
import operator
import re
from collections.abc import Iterator

import peewee as pw
import ujson

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core.common import like, parse_date, to_bool
from rucio_tornado.core.dids import meta
from rucio_tornado.core.dids.graph import descendants_of, fetch_dids
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.models import DID, DIDMeta

#: The operator suffixes of a filter key (``eq`` when there is none).
OPERATORS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "lt": operator.lt,
             "gte": operator.ge, "lte": operator.le}
#: The DID types each value of the ``type`` filter selects.
TYPE_FILTERS = {"all": ("FILE", "DATASET", "CONTAINER"), "collection": ("DATASET", "CONTAINER"),
         "dataset": ("DATASET",), "container": ("CONTAINER",), "file": ("FILE",)}
#: Date filters that are a column with an operator.
DATE_ALIASES = {"created_before": ("created_at", "lte"), "created_after": ("created_at", "gte"),
                "updated_before": ("updated_at", "lte"), "updated_after": ("updated_at", "gte")}
#: Query arguments of a search that are not filters.
RESERVED = ("type", "filters", "long", "recursive", "limit")


def parse_filters(raw: str) -> list[dict]:
    """The ``filters`` query argument: a Python literal list of dicts (never ``eval``)."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise exceptions.DIDFilterSyntaxError(f"Cannot parse filters {raw!r}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(g, dict) and all(isinstance(k, str) for k in g) for g in value):
        raise exceptions.DIDFilterSyntaxError("filters must be a list of dictionaries")
    return list(value)


def filtered_types(value) -> tuple[str, ...]:
    """The DID types a ``type`` filter value selects (``collection`` when not given)."""
    kinds = TYPE_FILTERS.get(str(value or "collection").lower())
    if kinds is None:
        raise exceptions.UnsupportedOperation(f"Valid type are: {', '.join(TYPE_FILTERS)}")
    return kinds


#: Values that match anything: a filter on them filters nothing (as in Rucio's engine).
MATCH_ALL = ("*", "%")
#: Date formats a filter value is read as (the real filter engine's, in its order).
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%fZ",
                "%Y-%m-%dT%H:%M:%S.%fZ", "%a, %d %b %Y %H:%M:%S UTC")


def _split(key):
    """``(column or key, operator)`` of a filter key; a key with two suffixes is a syntax error."""
    if key in DATE_ALIASES:
        return DATE_ALIASES[key]
    parts = key.split(".")
    if len(parts) > 2:
        raise exceptions.DIDFilterSyntaxError(f"Filter key {key!r} has more than one operator")
    if len(parts) == 2:
        if parts[1] not in OPERATORS:
            raise exceptions.DIDFilterSyntaxError(f"Unknown operator in filter key {key!r}")
        return parts[0], parts[1]
    return key, "eq"


def _coerce(value):
    """Filter values arrive as strings from the CLI; read them as Rucio's engine does:
    booleans, dates (:data:`DATE_FORMATS`), then numbers (not when the text holds an
    arithmetic sign, so ``-5`` and ``2020-01-01`` stay text)."""
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            pass
    if not any(sign in value for sign in "+-*/"):
        try:
            number = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return value
        if isinstance(number, (int, float)):
            return number
    return value


def _is_pattern(value):
    return isinstance(value, str) and any(c in value for c in MATCH_ALL)


def _column_condition(key, op, value, after=None):
    field = DID._meta.fields[key]
    kind = meta.column_kind(key)
    if value is None:
        return field.is_null(op != "ne")
    try:
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                value = float(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
        elif kind == "bool":
            value = to_bool(value, key)
        elif kind == "date":
            value = value if isinstance(value, datetime.datetime) else parse_date(value, key)
        else:
            value = value if isinstance(value, str) else str(value)
    except (ValueError, TypeError, exceptions.InvalidObject):
        raise exceptions.DIDFilterSyntaxError(f"Invalid value {value!r} for {key}") from None
    if kind == "str" and _is_pattern(value):
        bounds = _prefix_range(field, value, after) if op == "eq" and key == "name" else None
        if bounds is None:
            condition = like(field, value, negate=op == "ne")
        else:
            condition = bounds & like(_no_index(field), value)
    elif isinstance(value, float):      # a float bound compares numerically, not truncated
        condition = OPERATORS[op](field, pw.Value(value, converter=False))
    else:
        condition = OPERATORS[op](field, value)
    # As in Rucio, "not equal" also matches the DIDs that have no value at all.
    return (condition | field.is_null()) if op == "ne" else condition


def _meta_condition(key, op, value):
    base = DIDMeta.select(pw.SQL("1")).where(DIDMeta.scope == DID.scope,
                                             DIDMeta.name == DID.name, DIDMeta.key == key)
    if isinstance(value, datetime.datetime):
        value = value.isoformat()
    number = meta.as_number(value)
    if op in ("eq", "ne"):
        if _is_pattern(value):
            match = like(DIDMeta.value, '"' + value + '"')
        else:
            texts = {ujson.dumps(value), ujson.dumps(str(value))}
            match = DIDMeta.value.in_(sorted(texts))
            if number is not None:
                match = match | (DIDMeta.number == number)
        exists = pw.fn.EXISTS(base.where(match))
        return ~exists if op == "ne" else exists
    if number is not None:
        return pw.fn.EXISTS(base.where(OPERATORS[op](DIDMeta.number, number)))
    return pw.fn.EXISTS(base.where(OPERATORS[op](DIDMeta.value, ujson.dumps(str(value)))))


def _check_criterion(key, op, value):
    """The real filter engine's sanity checks of one criterion."""
    if _is_pattern(value) and op not in ("eq", "ne"):
        raise exceptions.DIDFilterSyntaxError(
            "Wildcards can only be used with equality operators")
    if key == "name" and (op not in ("eq", "ne") or not isinstance(value, str)):
        raise exceptions.DIDFilterSyntaxError("name takes a string and an equality operator")
    if key in ("type", "did_type") and op != "eq":
        raise exceptions.DIDFilterSyntaxError("type only supports equality")


def _group_condition(group, did_type, after=None):
    """One AND-group; its own ``type`` (if any) replaces the request's ``did_type``
    (``after``: see :func:`build_query`)."""
    conds = [DID.did_type.in_(filtered_types(group.get("type", did_type)))]
    for raw_key, raw_value in group.items():
        if raw_key == "type":
            continue
        key, op = _split(raw_key)
        _check_criterion(key, op, raw_value)
        if isinstance(raw_value, str) and raw_value in MATCH_ALL:
            continue                                    # a bare wildcard filters nothing
        if key == "did_type":
            conds.append(DID.did_type.in_(filtered_types(raw_value)))
        elif meta.is_column(key):
            # typed by the column: a name "123" stays text, a bound "5.5" is a number
            conds.append(_column_condition(key, op, raw_value, after))
        else:
            meta.check_key(key)
            conds.append(_meta_condition(key, op, _coerce(raw_value)))
    out = conds[0]
    for c in conds[1:]:
        out = out & c
    return out


def search(issuer: Issuer, scope: str | None, filters: list | None = None,
           did_type: str = "collection", long: bool = False, recursive: bool = False,
           limit: int | str | None = None) -> Iterator[list]:
    """Matching DIDs of ``scope`` (all scopes when None): names, or dicts when ``long``."""
    if limit is not None:
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise exceptions.DIDFilterSyntaxError(f"Invalid limit {limit!r}") from None
    db = dbmod.current()
    if scope is not None and not db.is_postgresql:
        batches = _keyset_pages(db, scope, filters, did_type)
    else:
        # PostgreSQL: one server-side cursor. All scopes: pages on (scope, name).
        query = build_query(scope, filters, did_type)
        key = (DID.name,) if scope is not None else (DID.scope, DID.name)
        batches = db.iter_query(query, key)
    return _shape(batches, long, recursive, limit)


def build_query(scope: str | None, filters: list | None, did_type: str = "collection",
                after: pw.Node | None = None) -> pw.Query:
    """The one SELECT of a search (ordered and paged by ``iter_query`` or :func:`_keyset_pages`).

    ``after`` (SQLite keyset pages after the first): the name the page starts after, which
    raises the lower bound of every name prefix range to ``max(prefix, after)``.
    """
    where = None
    for group in filters or [{}]:
        cond = _group_condition(group, did_type, after)
        where = cond if where is None else (where | cond)
    query = DID.select(DID.scope, DID.name, DID.did_type, DID.bytes, DID.length).where(
        DID.hidden == False, where)  # noqa: E712
    if scope is not None:
        query = query.where(DID.scope == scope)
    return query


class _After:
    """Stands for a keyset page's start in the parameters of its precompiled SQL."""


def _keyset_pages(db, scope, filters, did_type):
    """SQLite, one scope: keyset pages on the name, from two statements compiled once.

    A page after the first asks for ``name > last`` and raises each prefix range's lower
    bound to ``max(prefix, last)``: SQLite bounds an index range by one of several lower
    bounds, and with the prefix's own bound it would read the range from its start again on
    every page (the search grew quadratic with the matches). For the same reason the name
    pattern is matched on ``+name`` there: SQLite's LIKE optimisation would add the prefix
    bound back.
    """
    first, sql, params = page_statements(scope, filters, did_type, db.batch_size)
    slots = [i for i, p in enumerate(params) if p is _After]
    return _pages(db.peewee, db.batch_size, first, sql, params, slots)


def page_statements(scope, filters, did_type, size):
    """SQLite keyset pages of a search in one scope: ``(sql, params)`` of the first page, and
    the SQL and parameters of the next ones (:class:`_After` stands for the last name)."""
    first = build_query(scope, filters, did_type).order_by(DID.name).limit(size).sql()
    marker = pw.Value(_After, converter=False)
    # One group with a name prefix bounds the name by max(prefix, last): the keyset term is
    # then only a filter (as a second bound it would make SQLite pick the primary key over the
    # type index). OR-ed groups keep it as the index bound of the scope's names.
    groups = filters or [{}]
    single = len(groups) == 1 and _prefix_of(groups[0])
    name = _no_index(DID.name) if single else DID.name
    sql, params = build_query(scope, filters, did_type, after=marker).where(
        name > marker).order_by(DID.name).limit(size).sql()
    return first, sql, params


def _pages(database, size, first, sql, params, slots):
    rows = database.execute_sql(*first).fetchall()
    while rows:
        yield rows
        if len(rows) < size:
            return
        last = rows[-1][1]
        for i in slots:
            params[i] = last
        rows = database.execute_sql(sql, params).fetchall()


def _prefix_range(field, pattern, after=None):
    """``prefix <= field < prefix + DEL`` for a pattern with a literal prefix (names are ASCII);
    the lower bound is ``max(prefix, after)`` when ``after`` is given (SQLite)."""
    prefix = _literal_prefix(pattern)
    if not prefix or not dbmod.current().sorts_bytewise():
        return None
    lower = prefix if after is None else pw.fn.max(prefix, after)
    return (field >= lower) & (field < prefix + "\x7f")


def _literal_prefix(pattern):
    return re.split(r"[*%]", pattern, maxsplit=1)[0]


def _prefix_of(group):
    """The literal prefix of a group's ``name`` pattern (which :func:`_prefix_range` makes an
    index range), else None."""
    value = group.get("name")
    if isinstance(value, str) and _is_pattern(value) and value not in MATCH_ALL:
        return _literal_prefix(value) or None
    return None


def _no_index(field):
    """``+field`` on SQLite: the same value, but no index use (nor LIKE optimisation) for the
    term; PostgreSQL has no unary plus for text, and needs none."""
    if dbmod.current().is_postgresql:
        return field
    return pw.NodeList((pw.SQL("+"), field), glue="")


def _lines(rows, long):
    """Raw ``(scope, name, did_type, bytes, length)`` rows as output lines, in one
    comprehension (no function call per row)."""
    if long:
        return [{"scope": s, "name": n, "did_type": t, "bytes": b, "length": ln}
                for s, n, t, b, ln in rows]
    return [r[1] for r in rows]


def _shape(batches, long, recursive, limit):
    left = limit
    for batch in batches:
        if recursive:
            rows = []
            for row in batch:
                rows.append(row)
                if row[2] != "FILE":
                    rows.extend(_descendant_rows(row[0], row[1]))
            batch = rows
        out = _lines(batch, long)
        if left is not None:
            out, left = out[:left], left - len(out[:left])
        if out:
            yield out
        if left is not None and left <= 0:
            return


def _descendant_rows(scope, name):
    """(scope, name, type, bytes, length) of everything below one collection."""
    order = descendants_of(scope, name)
    found = fetch_dids(order, DID.did_type, DID.bytes, DID.length)
    return [(s, n, *found[(s, n)]) for s, n in order if (s, n) in found]


def search_args(args: dict) -> dict:
    """Split the query arguments of a search request into ``search`` keyword arguments."""
    raw = args.get("filters")
    filters = parse_filters(raw) if raw else ([{k: v for k, v in args.items()
                                                if k not in RESERVED}] if any(
        k not in RESERVED for k in args) else None)
    return {"filters": filters, "did_type": args.get("type", "collection"),
            "long": _flag(args.get("long")), "recursive": _flag(args.get("recursive")),
            "limit": args.get("limit")}


def _flag(value):
    return value is not None and value.strip().lower() in ("", "true", "1", "yes", "y")
