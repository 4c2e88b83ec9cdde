"""DID metadata (DID columns and free-form keys) and the metadata key conventions.

Keys that name a DID column update the column (type-checked); ``lifetime`` sets ``expired_at``;
every other key is free-form, one ``DIDMeta`` row (JSON ``value``, float ``number``).

Conventions (keys in ``MetaKey``, from ``/meta/`` and ``/meta_conventions/``) apply as Rucio
applies them to DID columns: only a new dataset's ``datatype`` must be a registered value
(:func:`validate_dataset_meta`); other column values (``project``, ``run_number``, ...) are
accepted whatever values are registered. Free-form keys are this server's own: their
conventions (DID type, regexp, allowed values) are enforced whenever they are set.
"""
import datetime
import re
from collections.abc import Iterator

import peewee as pw
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.bulk import by_scope, chunks
from rucio_tornado.core.common import did_keys, did_label, parse_date, rfc1123, to_bool
from rucio_tornado.core.dids.graph import (ancestors_of, check_scope_permission, descendants_of,
                                          fetch_dids, insert_dicts, listed_keys, names_in)
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, DIDMeta, MetaKey, MetaValue, utcnow

#: The metadata plugins a read may ask for.
PLUGINS = ("DID_COLUMN", "JSON", "ALL")

#: The DID columns metadata reads and sets (the DID_COLUMN plugin), in the order Rucio lists
#: them; every other key is free-form.
METADATA_COLUMNS = (
    "scope", "name", "account", "did_type", "is_open", "monotonic", "hidden", "obsolete",
    "complete", "is_new", "availability", "suppressed", "bytes", "length", "md5", "adler32",
    "expired_at", "purge_replicas", "deleted_at", "events", "guid", "project", "datatype",
    "run_number", "stream_name", "prod_step", "version", "campaign", "task_id", "panda_id",
    "lumiblocknr", "provenance", "phys_group", "transient", "accessed_at", "closed_at", "eol_at",
    "is_archive", "constituent", "access_cnt", "created_at", "updated_at")
#: Columns that metadata may not change (identity, type, bookkeeping, status via /status).
READ_ONLY = {"scope", "name", "account", "did_type", "is_open", "created_at", "updated_at",
             "deleted_at", "closed_at"}
#: The DID types a metadata key (convention) may be restricted to.
KEY_TYPES = ("ALL", "COLLECTION", "CONTAINER", "DATASET", "FILE", "DERIVED")
#: The value types a metadata key may declare, with the Python type a value must have.
VALUE_TYPES = {"str": str, "string": str, "int": int, "integer": int, "float": float,
               "bool": bool, "boolean": bool, "datetime": str, "date": str,
               # what the real client sends for add_key(value_type=str|int|float)
               "<class 'str'>": str, "<class 'int'>": int, "<class 'float'>": float}
#: The convention Rucio checks when a dataset is created: its ``datatype`` must be a
#: registered value of that key.
DATASET_CHECKED_KEY = "datatype"

#: DIDs per batch of bulk metadata reads
META_CHUNK = 500


def column_kind(key: str) -> str:
    """'int' | 'bool' | 'date' | 'str' for a DID column."""
    field = DID._meta.fields[key]
    if isinstance(field, (pw.IntegerField, pw.BigIntegerField)):
        return "int"
    if isinstance(field, pw.BooleanField):
        return "bool"
    if isinstance(field, pw.DateTimeField):
        return "date"
    return "str"


def _column_value(key, value, label):
    if value is None:
        if not DID._meta.fields[key].null:
            raise exceptions.InvalidValueForKey(f"{label}: {key} cannot be null")
        return None
    kind = column_kind(key)
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind == "bool":
            return to_bool(value, key)
        if kind == "date":
            return parse_date(value, key)
    except (ValueError, TypeError, exceptions.InvalidObject):
        raise exceptions.InvalidValueForKey(
            f"{label}: invalid value {value!r} for {key} ({kind})") from None
    if not isinstance(value, str):
        raise exceptions.InvalidValueForKey(f"{label}: {key} must be a string")
    limit = DID._meta.fields[key].max_length
    if limit and len(value) > limit:
        raise exceptions.InvalidValueForKey(f"{label}: {key} longer than {limit} characters")
    return value


def check_key(key) -> None:
    """InvalidMetadata for a key that is not a non-empty string without '.'."""
    if not isinstance(key, str) or not key:
        raise exceptions.InvalidMetadata(f"Invalid metadata key {key!r}")
    if "." in key:
        raise exceptions.InvalidMetadata(f"Metadata key {key!r} contains the restricted character '.'")


KEY_TYPE_APPLIES = {"FILE": ("FILE",), "DATASET": ("DATASET",), "CONTAINER": ("CONTAINER",),
                    "COLLECTION": ("DATASET", "CONTAINER")}


def _check_convention(key, value, label, conventions, did_type):
    """Enforce a registered key's DID type, regexp and allowed values."""
    if key not in conventions:
        return
    regexp, allowed, key_type = conventions[key]
    if did_type not in KEY_TYPE_APPLIES.get(key_type, (did_type,)):
        raise exceptions.InvalidMetadata(f"{label}: key {key} applies to {key_type} only")
    text = value if isinstance(value, str) else ujson.dumps(value)
    if regexp and (value is None or not re.fullmatch(regexp, text)):
        raise exceptions.InvalidValueForKey(f"{label}: value {value!r} does not match {regexp!r} for {key}")
    if allowed and text not in allowed:
        raise exceptions.InvalidValueForKey(f"{label}: value {value!r} is not allowed for {key}")


def _conventions(keys):
    keys = list(keys)
    if not keys:
        return {}
    found = {k: (r, set(), t) for k, r, t in MetaKey.select(
        MetaKey.key, MetaKey.value_regexp, MetaKey.key_type).where(MetaKey.key.in_(keys)).tuples()}
    for k, v in MetaValue.select(MetaValue.key, MetaValue.value).where(
            MetaValue.key.in_(list(found))).tuples():
        found[k][1].add(v)
    return found


def is_column(key: str) -> bool:
    """Whether a metadata key names a DID column (the DID_COLUMN plugin's keys)."""
    return key in DID._meta.fields and key in METADATA_COLUMNS


def validate_dataset_meta(did_type: str, meta: dict | None) -> None:
    """Rucio's convention check of a new dataset (``add_did``): a ``datatype`` must be one of
    the registered values of the ``datatype`` key, else InvalidObject."""
    if str(did_type).upper() != "DATASET" or not isinstance(meta, dict) or \
            DATASET_CHECKED_KEY not in meta:
        return
    value = meta[DATASET_CHECKED_KEY]
    if not isinstance(value, str) or MetaValue.get_or_none(
            MetaValue.key == DATASET_CHECKED_KEY, MetaValue.value == value) is None:
        raise exceptions.InvalidObject(
            f"The value {value}' for the key {DATASET_CHECKED_KEY} is not valid")


def prepare_meta(did_type: str, meta: dict, label: str) -> tuple[dict, dict]:
    """Split and check ``meta``: -> (column updates, free-form {key: value})."""
    if not isinstance(meta, dict):
        raise exceptions.InvalidObject(f"{label}: metadata must be a dictionary")
    conventions = _conventions(k for k in meta if not is_column(k))
    columns, free = {}, {}
    for key, value in meta.items():
        check_key(key)
        _check_convention(key, value, label, conventions, did_type)
        if key == "lifetime":
            columns["expired_at"] = None if value is None else utcnow() + datetime.timedelta(
                seconds=_number(value, label, key))
        elif is_column(key):
            if key in READ_ONLY:
                raise exceptions.InvalidMetadata(f"{label}: {key} cannot be set as metadata")
            columns[key] = _column_value(key, value, label)
        else:
            free[key] = value
    return columns, free


def _number(value, label, key):
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise exceptions.InvalidValueForKey(f"{label}: {key} must be a number") from None


def as_number(value) -> float | None:
    """The float a free-form value compares as (numbers and numeric strings), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def meta_rows(scope: str, name: str, free: dict) -> list[dict]:
    """The ``DIDMeta`` rows of free-form keys (JSON text, and the number it compares as)."""
    now = utcnow()
    return [{"scope": scope, "name": name, "key": k, "value": ujson.dumps(v),
             "number": as_number(v), "created_at": now, "updated_at": now}
            for k, v in free.items()]


# -- setting ----------------------------------------------------------------------------------------
@atomic
def set_metadata(issuer: Issuer, scope: str, name: str, key: str, value,
                 recursive: bool = False) -> None:
    """Set one key (``recursive``: on everything below the DID too)."""
    set_dids_metadata_bulk(issuer, [{"scope": scope, "name": name, "meta": {key: value}}],
                           recursive)


@atomic
def set_metadata_bulk(issuer: Issuer, scope: str, name: str, meta: dict,
                      recursive: bool = False) -> None:
    """Set several keys of one DID."""
    set_dids_metadata_bulk(issuer, [{"scope": scope, "name": name, "meta": meta}], recursive)


@atomic
def set_dids_metadata_bulk(issuer: Issuer, items: list, recursive: bool = False) -> None:
    """Set metadata on many DIDs at once; all or nothing."""
    keys = did_keys(items)
    if not all(isinstance(item.get("meta"), dict) for item in items):
        raise exceptions.InvalidObject("every DID needs a 'meta' dictionary")
    found = fetch_dids(keys, DID.did_type)
    for key in keys:
        if key not in found:
            raise exceptions.DataIdentifierNotFound(f"Data identifier '{did_label(*key)}' not found")
    check_scope_permission(issuer, "set_metadata", [s for s, _ in keys])
    # DIDs given the same metadata are set together (a few statements per 1000 DIDs, not three
    # per DID); a DID listed twice, or reached twice recursively, keeps the items' order
    groups = {} if len(keys) == len(items) and not recursive else None
    for item in items:
        key = (item["scope"], item["name"])
        did_type = found[key][0]
        targets = [key]
        if recursive and did_type != "FILE":
            targets += descendants_of(*key)
        if groups is None:
            _apply(targets, did_type, item["meta"], did_label(*key))
            continue
        same = (did_type, ujson.dumps(item["meta"], sort_keys=True))
        groups.setdefault(same, (item["meta"], did_label(*key), []))[2].extend(targets)
    for (did_type, _), (meta, label, targets) in (groups or {}).items():
        _apply(targets, did_type, meta, label)


def _apply(targets, did_type, meta, label):
    columns, free = prepare_meta(did_type, meta, label)
    now = utcnow()
    if columns:
        for scope, names in by_scope(targets):
            DID.update(updated_at=now, **columns).where(
                DID.scope == scope, names_in(DID.name, names)).execute()
    if free:
        for scope, names in by_scope(targets):
            DIDMeta.delete().where(DIDMeta.scope == scope, names_in(DIDMeta.name, names),
                                   DIDMeta.key.in_(list(free))).execute()
        insert_dicts(DIDMeta, [r for s, n in targets for r in meta_rows(s, n, free)])


@atomic
def delete_metadata(issuer: Issuer, scope: str, name: str, key: str | None) -> None:
    """Remove a free-form key (a missing key is a no-op); DID columns cannot be deleted."""
    if not key:
        raise exceptions.KeyNotFound("No key provided to remove")
    lookup.did(scope, name)
    check_scope_permission(issuer, "delete_metadata", [scope])
    if key in METADATA_COLUMNS or key == "lifetime":
        raise exceptions.UnsupportedOperation(f"The DID column {key} cannot be deleted; set it instead")
    DIDMeta.delete().where(DIDMeta.scope == scope, DIDMeta.name == name,
                           DIDMeta.key == key).execute()


# -- reading ---------------------------------------------------------------------------------------
def _plugin(plugin):
    value = (plugin or "DID_COLUMN").upper()
    if value not in PLUGINS:
        raise exceptions.UnsupportedMetadataPlugin(f"Metadata plugin {plugin!r} is not supported")
    return value


def _columns_dict(row):
    out = {}
    for key in METADATA_COLUMNS:
        value = getattr(row, key)
        out[key] = rfc1123(value) if isinstance(value, datetime.datetime) else value
    return out


def _free_dicts(keys):
    found = {k: {} for k in keys}
    for scope, names in by_scope(keys):
        query = DIDMeta.select(DIDMeta.scope, DIDMeta.name, DIDMeta.key, DIDMeta.value).where(
            DIDMeta.scope == scope, names_in(DIDMeta.name, names))
        for s, n, k, v in query.tuples():
            found[(s, n)][k] = ujson.loads(v) if v is not None else None
    return found


def get_metadata(issuer: Issuer, scope: str, name: str, plugin: str | None = "DID_COLUMN") -> dict:
    """The DID's metadata as ``plugin`` shows it: its columns, its free-form keys, or ALL."""
    plugin = _plugin(plugin)
    row = lookup.did(scope, name)
    return _render(row, plugin, _free_dicts([(scope, name)])[(scope, name)])


def _render(row, plugin, free):
    if plugin == "DID_COLUMN":
        return _columns_dict(row)
    if plugin == "JSON":
        return dict(free)
    return dict(_columns_dict(row), **free)


def get_metadata_value(issuer: Issuer, scope: str, name: str, key: str) -> dict:
    """``GET .../meta/{key}``: ``{key: value}`` (``lifetime`` reads ``expired_at``)."""
    meta = get_metadata(issuer, scope, name, "ALL")
    if key == "lifetime":
        return {key: meta.get("expired_at")}
    if key not in meta:
        raise exceptions.KeyNotFound(f"No metadata key {key!r} on '{scope}:{name}'")
    return {key: meta[key]}


def get_metadata_bulk(issuer: Issuer, items: list, inherit: bool = False,
                      plugin: str | None = "JSON") -> Iterator[list[dict]]:
    """``POST /dids/bulkmeta``: one metadata dict per existing DID, streamed in chunks."""
    plugin = _plugin(plugin)
    return _bulk(listed_keys(items), plugin, inherit)


def _bulk(keys, plugin, inherit):
    for part in chunks(keys, META_CHUNK):
        rows = {}
        for scope, names in by_scope(part):
            rows.update({(r.scope, r.name): r
                         for r in DID.select().where(DID.scope == scope, names_in(DID.name, names))})
        free = _free_dicts(part)
        batch = []
        for key in part:
            if key not in rows:
                continue
            meta = _render(rows[key], plugin, free[key])
            if inherit:
                meta = _inherited(key, plugin, meta)
            meta.setdefault("scope", key[0])
            meta.setdefault("name", key[1])
            batch.append(meta)
        yield batch


def _inherited(key, plugin, meta):
    """Free-form metadata of the ancestors, the DID's own values taking precedence."""
    ancestors = sorted(ancestors_of([key]))
    out = {}
    for values in _free_dicts(ancestors).values():
        out.update(values)
    out.update(meta)
    return out


# -- metadata keys (conventions) --------------------------------------------------------------------
def _key_type(value):
    kind = (value or "ALL").upper() if isinstance(value, str) or value is None else None
    if kind not in KEY_TYPES:
        raise exceptions.UnsupportedKeyType(f"Key type {value!r} is not supported")
    return kind


@atomic
def add_key(issuer: Issuer, key: str, key_type: str | None = None, value_type: str | None = None,
            value_regexp: str | None = None, default=None) -> None:
    """Register a metadata key (a convention) that constrains the values it may be set to."""
    permissions.check(issuer, "add_meta_key")
    check_key(key)
    key_type = _key_type(key_type)
    if value_type is not None and value_type not in VALUE_TYPES:
        raise exceptions.UnsupportedValueType(f"Value type {value_type!r} is not supported")
    if value_regexp is not None:
        try:
            re.compile(value_regexp)
        except (re.error, TypeError):
            raise exceptions.InvalidObject(f"Invalid value_regexp {value_regexp!r}") from None
    if MetaKey.get_or_none(MetaKey.key == key) is not None:
        raise exceptions.Duplicate(f"Metadata key '{key}' already exists")
    MetaKey.create(key=key, key_type=key_type, value_type=value_type, value_regexp=value_regexp,
                   default_value=None)
    if default is not None:
        _store_default(key, value_regexp, default)


@atomic
def set_default(issuer: Issuer, key: str, default: str) -> None:
    """``POST /meta/{key}/{default}`` (seed): the key's default value; a new key is created
    with it, as ``POST /meta/{key}`` with a value does."""
    permissions.check(issuer, "add_meta_key")
    row = MetaKey.get_or_none(MetaKey.key == key)
    if row is None:
        add_key(issuer, key, default=default)
    else:
        _store_default(key, row.value_regexp, default)


def _store_default(key, value_regexp, default):
    text = _text(default)
    if value_regexp and not re.fullmatch(value_regexp, text):
        raise exceptions.InvalidValueForKey(f"Default {default!r} does not match {value_regexp!r}")
    MetaKey.update(default_value=text, updated_at=utcnow()).where(MetaKey.key == key).execute()


def _text(value):
    return value if isinstance(value, str) else ujson.dumps(value)


def list_keys(issuer: Issuer) -> list[str]:
    return [k for (k,) in MetaKey.select(MetaKey.key).order_by(MetaKey.key).tuples()]


def list_keys_with_defaults(issuer: Issuer) -> list[dict]:
    """``GET /meta/``: every key with its type, constraints and default value."""
    return [{"key": r.key, "key_type": r.key_type, "value_type": r.value_type,
             "value_regexp": r.value_regexp, "default": r.default_value}
            for r in MetaKey.select().order_by(MetaKey.key)]


def _key_row(key):
    row = MetaKey.get_or_none(MetaKey.key == key)
    if row is None:
        raise exceptions.KeyNotFound(f"Metadata key '{key}' not found")
    return row


@atomic
def add_value(issuer: Issuer, key: str, value) -> None:
    """Add an allowed value to a key (then only its allowed values may be set)."""
    permissions.check(issuer, "add_meta_key")
    row = _key_row(key)
    if value is None or isinstance(value, (dict, list)):
        raise exceptions.InvalidValueForKey(f"Invalid value {value!r} for key {key}")
    expected = VALUE_TYPES.get(row.value_type)
    if expected is not None and expected is not str and not (
            isinstance(value, expected) and not (expected is int and isinstance(value, bool))):
        raise exceptions.InvalidValueForKey(f"Value {value!r} is not of type {row.value_type}")
    text = _text(value)
    if row.value_regexp and not re.fullmatch(row.value_regexp, text):
        raise exceptions.InvalidValueForKey(f"Value {value!r} does not match {row.value_regexp!r}")
    if len(text) > 255:
        raise exceptions.InvalidValueForKey("Values are limited to 255 characters")
    if MetaValue.get_or_none(MetaValue.key == key, MetaValue.value == text) is not None:
        raise exceptions.Duplicate(f"Value '{text}' already exists for key '{key}'")
    MetaValue.create(key=key, value=text)


def list_values(issuer: Issuer, key: str) -> list[str]:
    _key_row(key)
    return [v for (v,) in MetaValue.select(MetaValue.value).where(MetaValue.key == key)
            .order_by(MetaValue.value).tuples()]


@atomic
def delete_key(issuer: Issuer, key: str) -> None:
    permissions.check(issuer, "delete_meta_key")
    _key_row(key)
    MetaValue.delete().where(MetaValue.key == key).execute()
    MetaKey.delete().where(MetaKey.key == key).execute()


@atomic
def delete_default(issuer: Issuer, key: str, default: str) -> None:
    """``DELETE /meta/{key}/{default}``: the default value becomes NULL."""
    permissions.check(issuer, "delete_meta_key")
    row = _key_row(key)
    if row.default_value != default:
        raise exceptions.KeyNotFound(f"'{default}' is not the default value of key '{key}'")
    MetaKey.update(default_value=None, updated_at=utcnow()).where(MetaKey.key == key).execute()
