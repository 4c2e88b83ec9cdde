"""Small helpers shared by the core modules: dates, names, typed input checks, DID keys,
wildcard patterns, row mappers."""
import datetime
import re

import peewee

from rucio_tornado import exceptions

RFC1123 = "%a, %d %b %Y %H:%M:%S UTC"
ISO = "%Y-%m-%dT%H:%M:%S"

NAME_PATTERNS = {
    "account": (re.compile(r"^[a-z0-9-_]{1,25}$"), "account name"),
    "scope": (re.compile(r"^[a-zA-Z_\-.0-9]{1,25}$"), "scope"),
    "name": (re.compile(r"^[/A-Za-z0-9][/A-Za-z0-9.\-_]{0,249}$"), "DID name"),
    "rse": (re.compile(r"^([A-Z0-9]+([_-][A-Z0-9]+)*)$"), "RSE name"),
    "attribute": (re.compile(r"^[a-zA-Z0-9-_\\/.]{1,30}$"), "attribute"),
}


def validate(kind, value):
    """Raise InvalidObject unless ``value`` is a string matching the ``kind`` pattern (API §5)."""
    pattern, label = NAME_PATTERNS[kind]
    if not isinstance(value, str) or not pattern.match(value) or (
            kind == "rse" and len(value) > 255):
        raise exceptions.InvalidObject(f"Problem validating {label}: {value!r} is not valid")
    return value


def did_label(scope, name):
    return f"{scope}:{name}"


_SCOPE, _NAME = NAME_PATTERNS["scope"][0].match, NAME_PATTERNS["name"][0].match


def did_key(item, label="DID"):
    """``(scope, name)`` of one ``{"scope", "name", ...}`` item, checked against the name
    patterns; InvalidObject naming ``label`` otherwise."""
    if not isinstance(item, dict):
        raise exceptions.InvalidObject(f"{label}: must be an object with 'scope' and 'name'")
    scope, name = item.get("scope"), item.get("name")
    if not isinstance(scope, str) or not _SCOPE(scope):
        raise exceptions.InvalidObject(f"{label}: invalid scope {scope!r}")
    if not isinstance(name, str) or not _NAME(name):
        raise exceptions.InvalidObject(f"{label}: invalid DID name {name!r}")
    return scope, name


#: Items one bulk call may carry (the ``max_bulk_items`` setting; ``make_app`` sets it).
MAX_BULK_ITEMS = 100_000


def bulk_items(items, label="items"):
    """``items`` if it is a list of at most ``MAX_BULK_ITEMS``: TypeError (400) if it is not a
    list, RequestTooLarge (413) if longer. Every bulk entry point checks its list with this."""
    if not isinstance(items, list):
        raise exceptions.InvalidJSONType(f"{label} must be a list")
    if len(items) > MAX_BULK_ITEMS:
        raise exceptions.RequestTooLarge(
            f"{label}: {len(items)} items, at most {MAX_BULK_ITEMS} per call")
    return items


def did_keys(items, label="dids"):
    """``[(scope, name)]`` of a ``[{"scope", "name", ...}]`` list, duplicates removed in order;
    TypeError (400) if it is not a list, 413 if too long, InvalidObject naming the bad item."""
    return list(dict.fromkeys(did_key(item, f"{label}[{index}]")
                              for index, item in enumerate(bulk_items(items, label))))


def like(field, pattern, negate=False):
    """``field LIKE pattern`` with Rucio's wildcards: ``*`` and ``%`` match any text, ``_`` is
    a literal character. Case-sensitive on both databases."""
    escaped = pattern.replace("\\", "\\\\").replace("_", "\\_").replace("*", "%")
    return peewee.NodeList((field, peewee.SQL("NOT LIKE" if negate else "LIKE"), escaped,
                            peewee.SQL("ESCAPE '\\'")))


#: What a database integer column holds (BIGINT): no integer outside it is ever valid input.
INT64 = (-2 ** 63, 2 ** 63 - 1)


def integer(value, label, minimum=None, maximum=None):
    """``value`` if it is a JSON integer (not a boolean) within the bounds (and within
    :data:`INT64`); else a 400 ``InvalidObject`` naming ``label``."""
    if isinstance(value, bool) or not isinstance(value, int) or \
            not INT64[0] <= value <= INT64[1] or \
            (minimum is not None and value < minimum) or \
            (maximum is not None and value > maximum):
        bounds = "" if minimum is None and maximum is None else \
            f" in [{'' if minimum is None else minimum}, {'' if maximum is None else maximum}]"
        raise exceptions.InvalidObject(f"{label} must be an integer{bounds}: {value!r}")
    return value


def _parse_db_datetime(value):
    """SQLite gives datetimes back as text from raw cursors; PostgreSQL as datetime."""
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc1123(value):
    """Datetime (or SQLite text) -> ``'Wed, 25 Nov 2026 17:38:27 UTC'``; None stays None.
    English names whatever the locale (``strftime``'s ``%a %b`` follow it), and twice as
    fast: every DID and account document has several."""
    if value is None:
        return None
    d = _parse_db_datetime(value)
    return (f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} "
            f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} UTC")


def iso(value):
    if value is None:
        return None
    return _parse_db_datetime(value).strftime(ISO)


def parse_date(value, label="date"):
    """Accept RFC 1123, ISO 8601 or an epoch number; return a naive UTC datetime."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(value, datetime.UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):   # out of range, NaN
            raise exceptions.InvalidObject(f"Invalid {label}: {value!r}") from None
    if isinstance(value, str):
        for fmt in (RFC1123, "%Y-%m-%dT%H:%M:%S.%f", ISO, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.datetime.strptime(value, fmt)
            except ValueError:
                pass
        try:
            parsed = datetime.datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
            return parsed
        except ValueError:
            pass
    raise exceptions.InvalidObject(f"Invalid {label}: {value!r}")


def after(start, seconds, label="lifetime"):
    """``start`` + ``seconds`` (a lifetime); InvalidObject naming ``label`` when that is no
    date (NaN, infinite, beyond year 9999)."""
    try:
        return start + datetime.timedelta(seconds=seconds)
    except (OverflowError, ValueError, TypeError):
        raise exceptions.InvalidObject(f"Invalid {label}: {seconds!r}") from None


def to_bool(value, label="value"):
    """JSON booleans, and the strings/ints clients send for them (``True``, ``false``, 1)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise exceptions.InvalidObject(f"Invalid boolean for {label}: {value!r}")


def require(body, key, kinds=None, label=None):
    """``body[key]``; missing -> KeyError (400); wrong JSON type -> TypeError (400)."""
    if key not in body:
        raise exceptions.MissingKey(f"'{key}' not defined")
    return check_type(body[key], kinds, label or key)


def optional(body, key, kinds=None, default=None, label=None):
    value = body.get(key, default)
    if value is None:
        return default
    return check_type(value, kinds, label or key)


def check_type(value, kinds, label):
    if kinds is None:
        return value
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if int in kinds and isinstance(value, bool) and bool not in kinds:
        raise exceptions.InvalidJSONType(f"{label} must be {_type_names(kinds)}")
    if not isinstance(value, kinds):
        raise exceptions.InvalidJSONType(f"{label} must be {_type_names(kinds)}")
    return value


def reject_unknown(body, allowed, label="body"):
    """Refuse keys outside ``allowed`` with InvalidObject naming them."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise exceptions.InvalidObject(f"Unknown key(s) in {label}: {', '.join(unknown)}")


def _type_names(kinds):
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer",
             float: "a number", bool: "a boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def row_mapper(names, converters=None):
    """A fast raw-row -> dict function for streamed listings.

    ``converters`` maps a column name to a function applied to non-null values (e.g. ``bool``
    for SQLite's 0/1, :func:`rfc1123` for dates).
    """
    names = tuple(names)
    conv = tuple((converters or {}).items())

    def to_dict(row):
        out = dict(zip(names, row))
        for name, fn in conv:
            value = out[name]
            if value is not None:
                out[name] = fn(value)
        return out
    return to_dict


def map_batches(batches, fn):
    """Apply ``fn`` to every row of every batch, lazily (keeps the batch structure)."""
    for batch in batches:
        yield [fn(row) for row in batch]
