"""Data identifiers: creation, status, the hierarchy (attach/detach) and its listings.

Only DIDs: registering replicas while attaching and adding rules at creation are composed in
:mod:`rucio_tornado.core.workflows`. Bulk operations are set-based: existence checks are
chunked ``IN`` queries, inserts are bulk inserts; one request is one transaction and a bad item
rejects it whole. Listings are generators of batches read with :meth:`Database.iter_query`.

Concurrent writers (several server processes on PostgreSQL) are ordered by the database:
attach, detach and close lock the parent DID rows (``SELECT ... FOR UPDATE``, in key order)
before they read what they check, so a close freezes exactly the content it counts and
attachments to one parent never race on its duplicates; attaching a container into a container
first takes the graph's advisory lock (:func:`graph.lock_graph`), so two attachments can never
close a cycle between them (the check of a whole call: one read of the graph above its parents,
under that lock, plus the call's own links: :class:`graph.NestingCheck`); creating a DID that
a concurrent request created first is decided by the primary key. Listings walk the graph
iteratively and stop at a cycle.
"""
import re
from collections.abc import Callable, Iterator

import peewee as pw

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core import events as catalog_events
from rucio_tornado.core import lookup
from rucio_tornado.core.bulk import by_scope, insert_rows, select_by_keys
from rucio_tornado.core.common import (bulk_items, after, check_type, did_key, did_label, integer, map_batches,
                                       rfc1123, row_mapper, to_bool, validate)
from rucio_tornado.core.dids import meta as did_meta
from rucio_tornado.core.dids.graph import (COLLECTIONS, NestingCheck, check_scope_permission,
                                          children_of, datasets_under, fetch_dids, insert_dicts,
                                          listed_keys, lock_dids, lock_graph, names_in)
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import (DID, ArchiveContent, Content, ContentHistory, DIDMeta, Replica,
                                  utcnow)

#: The keys of one new DID in ``POST /dids`` (a workflow may allow more: ``extra_keys``).
NEW_DID_KEYS = ("scope", "name", "type", "did_type", "statuses", "meta", "lifetime", "account")
#: The statuses a new DID may be given (``open`` is always true at creation).
NEW_DID_STATUSES = ("monotonic", "open")
#: The statuses ``PUT .../status`` changes: Rucio's set_status knows ``open`` only.
SETTABLE_STATUSES = ("open",)


# -- creation ------------------------------------------------------------------------------------
def _expiry(lifetime, label):
    if lifetime is None:
        return None
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)):
        try:
            lifetime = float(lifetime)
        except (TypeError, ValueError):
            raise exceptions.InvalidObject(f"Invalid lifetime for {label}: {lifetime!r}") from None
    return after(utcnow(), lifetime, f"lifetime for {label}")


def _did_type(value, label):
    kind = value.upper() if isinstance(value, str) else None
    if kind == "FILE":
        raise exceptions.UnsupportedOperation(
            f"{label}: only collections (DATASET, CONTAINER) can be created here")
    if kind not in COLLECTIONS:
        raise exceptions.InvalidObject(f"{label}: invalid DID type {value!r}")
    return kind


@atomic
def add_did(issuer: Issuer, scope: str, name: str, did_type: str, statuses: dict | None = None,
            meta: dict | None = None, lifetime: int | float | str | None = None) -> None:
    """Create one dataset or container (with its content and rules: :mod:`workflows`)."""
    add_dids(issuer, [{"scope": scope, "name": name, "type": did_type, "statuses": statuses,
                       "meta": meta, "lifetime": lifetime}])


@atomic
def add_dids(issuer: Issuer, items: list, extra_keys: tuple = (),
             check_extra: Callable[[dict, str], None] | None = None) -> None:
    """Create many collections at once; all or nothing.

    ``extra_keys`` are item keys a composing workflow handles itself (content, rules);
    ``check_extra(item, label)`` checks them as each item is checked, so that the first bad
    item of a request is the one reported, whatever is wrong with it.
    """
    bulk_items(items, "body")
    allowed = set(NEW_DID_KEYS) | set(extra_keys)
    now = utcnow()
    rows, meta_rows, seen, checked_scopes = [], [], set(), set()
    for item in items:
        if not isinstance(item, dict):
            raise exceptions.InvalidJSONType("every DID must be a json dictionary")
        for key in ("scope", "name"):
            if key not in item:
                raise exceptions.MissingKey(f"'{key}' not defined")
        scope, name = validate("scope", item["scope"]), validate("name", item["name"])
        label = did_label(scope, name)
        unknown = set(item) - allowed
        if unknown:
            raise exceptions.InvalidObject(f"{label}: unknown key(s) {', '.join(sorted(unknown))}")
        if "type" not in item and "did_type" not in item:
            raise exceptions.MissingKey("'type' not defined")
        kind = _did_type(item.get("type", item.get("did_type")), label)
        if (scope, name) in seen:
            raise exceptions.DataIdentifierAlreadyExists(f"Data identifier '{label}' given twice")
        seen.add((scope, name))
        statuses = item.get("statuses") or {}
        if not isinstance(statuses, dict) or set(statuses) - set(NEW_DID_STATUSES):
            raise exceptions.InvalidObject(f"{label}: invalid statuses {statuses!r}")
        if scope not in checked_scopes:     # an unknown scope before any metadata check
            check_scope_permission(issuer, "add_did", [scope])
            checked_scopes.add(scope)
        owner = item.get("account") or issuer.account
        if owner != issuer.account and not issuer.is_admin:
            raise exceptions.AccessDenied(f"{label}: only root/admin may create DIDs for {owner}")
        row = {"scope": scope, "name": name, "did_type": kind, "account": owner, "is_open": True,
               "monotonic": to_bool(statuses.get("monotonic", False), "monotonic"),
               "expired_at": _expiry(item.get("lifetime"), label),
               "created_at": now, "updated_at": now}
        columns, free = did_meta.prepare_meta(kind, item.get("meta") or {}, label)
        row.update(columns)
        rows.append(row)
        meta_rows.extend(did_meta.meta_rows(scope, name, free))
        if check_extra is not None:
            check_extra(item, label)
    keys = [(r["scope"], r["name"]) for r in rows]
    _refuse_existing(keys)
    try:
        with dbmod.database.atomic():       # a savepoint: a lost race leaves a usable transaction
            insert_dicts(DID, _uniform(rows))
    except pw.IntegrityError:
        # the primary key decided: a concurrent request created one of them first (committed:
        # a conflicting insert waits for the other transaction's end)
        _refuse_existing(keys)
        raise
    insert_dicts(DIDMeta, meta_rows)


def _refuse_existing(keys):
    existing = fetch_dids(keys)
    if existing:
        scope, name = sorted(existing)[0]
        raise exceptions.DataIdentifierAlreadyExists(
            f"Data identifier '{scope}:{name}' already exists")


def _uniform(rows):
    """One bulk insert needs the same keys in every row (metadata columns differ)."""
    keys = set().union(*(r.keys() for r in rows)) if rows else set()
    return [{k: r.get(k) for k in keys} for r in rows]


# -- reading one DID -----------------------------------------------------------------------------
def did_to_dict(row: DID) -> dict:
    if row.did_type == "FILE":
        return {"scope": row.scope, "name": row.name, "type": "FILE", "account": row.account,
                "bytes": row.bytes, "length": 1, "md5": row.md5, "adler32": row.adler32}
    return {"scope": row.scope, "name": row.name, "type": row.did_type, "account": row.account,
            "open": bool(row.is_open), "monotonic": bool(row.monotonic),
            "expired_at": rfc1123(row.expired_at), "length": row.length, "bytes": row.bytes}


def get_did(issuer: Issuer, scope: str, name: str, dynamic_depth: str | None = None) -> dict:
    """``GET /dids/{scope}/{name}``; ``dynamic_depth`` FILE|DATASET computes bytes/length
    from the content instead of the values stored when the collection was closed."""
    row = lookup.did_read(scope, name)
    out = did_to_dict(row)
    if dynamic_depth and row.did_type != "FILE":
        depth = str(dynamic_depth).upper()
        if depth not in ("FILE", "DATASET"):
            raise exceptions.InvalidObject(f"Invalid dynamic_depth {dynamic_depth!r}")
        datasets = datasets_under(scope, name, row.did_type)
        length, size = _files_summary(datasets)
        if depth == "DATASET" and row.did_type == "CONTAINER":
            length = len(datasets)
        out["length"], out["bytes"] = length, size
    return out


def _files_summary(datasets):
    """(number of file attachments, total bytes) of the given datasets."""
    length, size = 0, 0
    for scope, names in by_scope(datasets):
        n, b = Content.select(pw.fn.COUNT(pw.SQL("*")), pw.fn.SUM(Content.bytes)).where(
            Content.scope == scope, names_in(Content.name, names)).tuples().get()
        length, size = length + (n or 0), size + (b or 0)
    return length, size


# -- status --------------------------------------------------------------------------------------
def check_statuses(statuses: dict) -> None:
    """UnsupportedStatus for a key of a ``PUT .../status`` body that is not a status, checked
    before the DID is looked up (as Rucio does); a null status is not a boolean (400)."""
    for key in statuses:
        if key not in SETTABLE_STATUSES:
            raise exceptions.UnsupportedStatus(
                f"The status {key} is not a valid data identifier status.")
        if statuses[key] is None:
            to_bool(None, key)


@atomic
def set_status(issuer: Issuer, scope: str, name: str, open: bool | None = None) -> None:
    """``PUT .../status``: ``open`` (None leaves it); closing fixes ``bytes`` and ``length``."""
    row = lookup.did(scope, name)
    check_scope_permission(issuer, "set_status", [scope])
    if open is None:
        return
    want_open = to_bool(open, "open")
    # locked until commit: an attachment in flight finishes first and is counted below
    locked = lock_dids([(scope, name)], DID.is_open)
    if (scope, name) not in locked:
        raise exceptions.DataIdentifierNotFound(f"Data identifier '{scope}:{name}' not found")
    (is_open,) = locked[(scope, name)]
    if row.did_type == "FILE" or bool(is_open) == want_open:
        raise exceptions.UnsupportedOperation(
            f"The status of the data identifier '{scope}:{name}' cannot be changed")
    now = utcnow()
    if want_open:
        DID.update(is_open=True, closed_at=None, updated_at=now).where(
            DID.scope == scope, DID.name == name).execute()
        return
    if row.did_type == "DATASET":
        length, size = _files_summary([(scope, name)])
    else:
        size_expr = pw.fn.SUM(DID.bytes)
        length, size = (Content.select(pw.fn.COUNT(pw.SQL("*")), size_expr)
                        .join(DID, on=(DID.scope == Content.child_scope)
                              & (DID.name == Content.child_name))
                        .where(Content.scope == scope, Content.name == name).tuples().get())
    DID.update(is_open=False, closed_at=now, updated_at=now, length=length or 0,
               bytes=size or 0).where(DID.scope == scope, DID.name == name).execute()


# -- obsolete (the DELETE of /dids/{scope}/{name}) -------------------------------------------------
@atomic
def obsolete_did(issuer: Issuer, scope: str, name: str) -> None:
    """Hide a DID from listings, keep it for history, mark its file replicas for deletion."""
    row = lookup.did(scope, name)
    check_scope_permission(issuer, "obsolete_did", [scope])
    now = utcnow()
    DID.update(obsolete=True, hidden=True, updated_at=now).where(
        DID.scope == scope, DID.name == name).execute()
    if row.did_type == "FILE":
        files = [(scope, name)]
    else:
        files = [(s, n) for s, n, _ in children_of(datasets_under(scope, name, row.did_type))]
    for file_scope, names in by_scope(files):
        Replica.update(tombstone=now, updated_at=now).where(
            Replica.scope == file_scope, names_in(Replica.name, names),
            Replica.lock_cnt == 0).execute()


# -- attach / detach -----------------------------------------------------------------------------
@atomic
def attach_dids(issuer: Issuer, scope: str, name: str, dids: list) -> None:
    """Attach existing ``dids`` into ``scope:name`` (with replicas on an RSE: :mod:`workflows`)."""
    attach_dids_to_dids(issuer, [{"scope": scope, "name": name, "dids": dids}])


@atomic
def attach_dids_to_dids(issuer: Issuer, attachments: list, ignore_duplicate: bool = False) -> None:
    """Several attachments of existing DIDs in one transaction."""
    for attachment, parent_type, keys in checked_attachments(issuer, attachments,
                                                             ignore_duplicate):
        attach_children(attachment, parent_type, keys, ignore_duplicate, issuer.account)


def checked_attachments(issuer: Issuer, attachments: list,
                        ignore_duplicate: bool = False) -> Iterator[tuple[dict, str, list]]:
    """``(attachment, parent type, child keys)`` of every attachment, checked.

    The list's shape, the scope permissions and the parents are checked before the first is
    yielded; each attachment's parent and child keys when it is reached, so a caller that
    attaches each one before asking for the next (:func:`attach_children`) reports errors in
    the order of the list.
    """
    bulk_items(attachments, "attachments")
    parents = []
    for attachment in attachments:
        if not isinstance(attachment, dict):
            raise exceptions.InvalidJSONType("every attachment must be a json dictionary")
        for key in ("scope", "name", "dids"):
            if key not in attachment:
                raise exceptions.MissingKey(f"'{key}' not defined")
        check_type(attachment["dids"], list, "'dids'")
        parents.append(did_key(attachment, "attachment"))
    check_scope_permission(issuer, "attach_dids", [s for s, _ in parents])
    nesting = _may_nest_containers(attachments, parents)
    if nesting:
        lock_graph()
    # the parents stay locked until commit: a concurrent close waits for this attachment (and
    # freezes what it added), an attachment after a close sees the parent closed
    parent_rows = lock_dids(parents, DID.did_type, DID.is_open)
    if nesting:
        nesting = NestingCheck([key for key in parents
                                if parent_rows.get(key, ("",))[0] == "CONTAINER"])
    for attachment in attachments:
        parent_type, keys = _checked_children(attachment, parent_rows, ignore_duplicate)
        if nesting and parent_type == "CONTAINER":
            nesting.attach((attachment["scope"], attachment["name"]), keys)
        yield attachment, parent_type, keys


def _may_nest_containers(attachments, parents):
    """Whether some attachment may put a container into a container: a child of a container
    is a container or does not exist yet (it may be created as one before it is attached).
    Read without locks: a DID's type never changes, and DIDs are never deleted. Malformed
    children are left to :func:`_checked_children`."""
    containers = {key for key, (kind,) in fetch_dids(parents, DID.did_type).items()
                  if kind == "CONTAINER"}
    children = {(child["scope"], child["name"])
                for attachment, key in zip(attachments, parents) if key in containers
                for child in attachment["dids"] if isinstance(child, dict)
                and isinstance(child.get("scope"), str) and isinstance(child.get("name"), str)}
    kinds = fetch_dids(children, DID.did_type)
    return len(kinds) < len(children) or any(kind == "CONTAINER" for kind, in kinds.values())


def _checked_children(attachment, parent_rows, ignore_duplicate):
    """(parent type, child keys without repeats) of one attachment into an open collection."""
    scope, name = attachment["scope"], attachment["name"]
    label = did_label(scope, name)
    if (scope, name) not in parent_rows:
        raise exceptions.DataIdentifierNotFound(f"Data identifier '{label}' not found")
    parent_type, is_open = parent_rows[(scope, name)]
    if parent_type == "FILE" and not is_archive_name(name):
        raise exceptions.UnsupportedOperation(
            f"Data identifier '{label}' is a file: nothing can be attached to it")
    if parent_type != "FILE" and not is_open:
        raise exceptions.UnsupportedOperation(f"Data identifier '{label}' is closed")
    keys, seen = [], set()
    for child in attachment["dids"]:
        key = did_key(child, f"child of {label}")
        if key == (scope, name):
            raise exceptions.UnsupportedOperation(f"{label} cannot be attached to itself")
        if key in seen:
            if ignore_duplicate:
                continue
            raise exceptions.FileAlreadyExists(f"{did_label(*key)} is given twice for {label}")
        seen.add(key)
        keys.append(key)
    return parent_type, keys


#: The file attributes a dataset attachment may give, checked against the catalog.
FILE_CHECKSUMS = ("bytes", "adler32", "md5")
#: The columns of one ``Content`` row as :func:`attach_children` inserts them.
CONTENT_COLUMNS = ("scope", "name", "child_scope", "child_name", "did_type", "child_type",
                   "bytes", "adler32", "md5", "guid", "events", "created_at", "updated_at")


def attach_children(attachment: dict, parent_type: str, keys: list,
                    ignore_duplicate: bool = False, account: str | None = None) -> None:
    """Attach the existing DIDs ``keys`` (from :func:`checked_attachments`) into the parent;
    into an archive file, the files are its constituents (created, owned by ``account``, when
    they do not exist yet)."""
    scope, name, dids = attachment["scope"], attachment["name"], attachment["dids"]
    label = did_label(scope, name)
    if parent_type == "FILE":
        _add_constituents(attachment, keys, ignore_duplicate, account)
        return
    found = fetch_dids(keys, DID.did_type, DID.bytes, DID.adler32, DID.md5, DID.guid, DID.events)
    for key in keys:
        if key not in found:
            raise exceptions.DataIdentifierNotFound(
                f"Data identifier '{did_label(*key)}' not found")
    kinds = {found[k][0] for k in keys}
    _check_legal(label, parent_type, kinds)
    if parent_type == "DATASET":
        _check_consistency(dids, found)
    existing = set(select_by_keys(Content, (Content.child_scope, Content.child_name), keys,
                                  Content.child_scope, Content.child_name,
                                  where=((Content.scope, scope), (Content.name, name))))
    if existing and not ignore_duplicate:
        first = did_label(*sorted(existing)[0])
        if parent_type == "DATASET":
            raise exceptions.FileAlreadyExists(f"The file {first} is already attached to {label}")
        raise exceptions.DuplicateContent(f"The collection {first} is already attached to {label}")
    now = utcnow()
    stamp = dbmod.current().stored_datetime(now)
    rows = []
    for key in keys:
        if key in existing:
            continue
        kind, size, adler32, md5, guid, events = found[key]
        if kind == "FILE":
            rows.append((scope, name, key[0], key[1], parent_type, kind, size, adler32, md5,
                         guid, events, stamp, stamp))
        else:
            rows.append((scope, name, key[0], key[1], parent_type, kind, None, None, None,
                         guid, events, stamp, stamp))
    insert_rows(Content, CONTENT_COLUMNS, rows)
    if rows:
        DID.update(updated_at=now).where(DID.scope == scope, DID.name == name).execute()
    if rows and parent_type == "DATASET":
        catalog_events.emit(catalog_events.FILES_ATTACHED, scope=scope, name=name,
                            files=[(r[2], r[3], r[6]) for r in rows])
    elif rows:
        catalog_events.emit(catalog_events.COLLECTIONS_ATTACHED, scope=scope, name=name,
                            children=[(r[2], r[3], r[5]) for r in rows])


# -- archives --------------------------------------------------------------------------------------
#: File names Rucio treats as archives (files may be attached to them as constituents).
ARCHIVE_NAME = re.compile(r"^.*\.(zip|zipx|tar\.gz|tgz|tar\.Z|tar\.bz2|tbz2)(\.\d+)*$", re.I)
#: The columns of one ``ArchiveContent`` row as :func:`_add_constituents` inserts them.
ARCHIVE_COLUMNS = ("scope", "name", "child_scope", "child_name", "bytes", "adler32", "md5",
                   "guid", "length", "created_at", "updated_at")


def is_archive_name(name: str) -> bool:
    return bool(ARCHIVE_NAME.match(name))


def _add_constituents(attachment, keys, ignore_duplicate, account):
    """Files into an archive file: existing files become constituents, new ones are created
    (as constituents) from the given ``bytes``/checksums; the archive and the datasets holding
    it are marked ``is_archive``."""
    scope, name = attachment["scope"], attachment["name"]
    label = did_label(scope, name)
    given = {did_key(child): child for child in attachment["dids"]}
    found = fetch_dids(keys, DID.did_type, DID.bytes, DID.adler32, DID.md5, DID.guid,
                       DID.events)
    existing = set(select_by_keys(
        ArchiveContent, (ArchiveContent.child_scope, ArchiveContent.child_name), keys,
        ArchiveContent.child_scope, ArchiveContent.child_name,
        where=((ArchiveContent.scope, scope), (ArchiveContent.name, name))))
    if existing and not ignore_duplicate:
        raise exceptions.FileAlreadyExists(
            f"The file {did_label(*sorted(existing)[0])} is already in the archive {label}")
    now = utcnow()
    stamp = dbmod.current().stored_datetime(now)
    new_files, rows = [], []
    for key in keys:
        if key in existing:
            continue
        if key in found:
            kind, size, adler32, md5, guid, events = found[key]
            if kind != "FILE":
                raise exceptions.UnsupportedOperation(
                    f"Data identifier {did_label(*key)} of type {kind} cannot be added to an "
                    "archive")
        else:
            child = given[key]
            lookup.scope(key[0])
            size = integer(child.get("bytes"), f"bytes of {did_label(*key)}", minimum=0)
            adler32, md5, guid, events = (child.get(k) for k in ("adler32", "md5", "guid",
                                                                 "events"))
            new_files.append({"scope": key[0], "name": key[1], "did_type": "FILE",
                              "account": account, "bytes": size, "adler32": adler32,
                              "md5": md5, "guid": guid, "events": events,
                              "constituent": True, "created_at": now, "updated_at": now})
        rows.append((scope, name, key[0], key[1], size, adler32, md5, guid, events, stamp,
                     stamp))
    insert_dicts(DID, new_files)
    insert_rows(ArchiveContent, ARCHIVE_COLUMNS, rows)
    for file_scope, names in by_scope([(r[2], r[3]) for r in rows]):
        DID.update(constituent=True).where(DID.scope == file_scope,
                                           names_in(DID.name, names)).execute()
    holders = [(s, n) for s, n, _ in _parents_of(scope, name).tuples()] + [(scope, name)]
    for holder_scope, names in by_scope(holders):
        DID.update(is_archive=True).where(DID.scope == holder_scope,
                                          names_in(DID.name, names)).execute()


def _parents_of(scope, name):
    return Content.select(Content.scope, Content.name, Content.did_type).where(
        Content.child_scope == scope, Content.child_name == name)


def list_archive_content(issuer: Issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """``GET /archives/{scope}/{name}/files``: the constituents of an archive file."""
    query = ArchiveContent.select(ArchiveContent.child_scope, ArchiveContent.child_name,
                                  ArchiveContent.bytes, ArchiveContent.adler32,
                                  ArchiveContent.md5).where(ArchiveContent.scope == scope,
                                                            ArchiveContent.name == name)
    return _stream(query, (ArchiveContent.child_scope, ArchiveContent.child_name),
                   ("scope", "name", "bytes", "adler32", "md5"))


def _check_legal(label, parent_type, kinds):
    if parent_type == "DATASET" and kinds - {"FILE"}:
        raise exceptions.UnsupportedOperation(f"Only files can be attached to the dataset {label}")
    if parent_type == "CONTAINER":
        if "FILE" in kinds:
            raise exceptions.UnsupportedOperation(
                f"Files cannot be attached to the container {label}")
        if len(kinds) > 1:
            raise exceptions.UnsupportedOperation("Mixed collection is not allowed")


def _check_consistency(dids, found):
    """The ``bytes`` / checksums given with files attached to a dataset must be the catalog's.
    A child that gives none (the usual attachment) costs one tuple comparison."""
    for child in dids:
        get = child.get
        given = (get("bytes"), get("adler32"), get("md5"))
        if given == _NONE_GIVEN:
            continue
        key = (child["scope"], child["name"])
        for field, value, stored in zip(FILE_CHECKSUMS, given, found[key][1:4]):
            if value is None or stored is None:
                continue
            same = str(value).lower() == str(stored).lower() if field != "bytes" else \
                _as_int(value) == stored
            if not same:
                raise exceptions.FileConsistencyMismatch(
                    f"{field} mismatch for {did_label(*key)}: given {value!r}, "
                    f"catalog has {stored!r}")


_NONE_GIVEN = (None,) * len(FILE_CHECKSUMS)


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@atomic
def detach_dids(issuer: Issuer, scope: str, name: str, dids: list) -> None:
    """Remove children from a collection; the links go to ``ContentHistory``."""
    row = lookup.did(scope, name)
    check_scope_permission(issuer, "detach_dids", [scope])
    lock_dids([(scope, name)])      # as an attachment: never in the middle of a close
    if row.monotonic:
        raise exceptions.UnsupportedOperation(f"Data identifier '{scope}:{name}' is monotonic")
    keys = listed_keys(dids)
    fields = (Content.child_scope, Content.child_name, Content.did_type, Content.child_type,
              Content.bytes, Content.adler32, Content.md5)
    attached = {}
    for child_scope, names in by_scope(set(keys)):
        for r in Content.select(*fields).where(
                Content.child_scope == child_scope, names_in(Content.child_name, names),
                Content.scope == scope, Content.name == name).tuples():
            attached[(r[0], r[1])] = r
    for key in keys:
        if key not in attached:
            raise exceptions.DataIdentifierNotFound(
                f"Data identifier '{did_label(*key)}' not found in '{scope}:{name}'")
    now = utcnow()
    history = [{"scope": scope, "name": name, "child_scope": r[0], "child_name": r[1],
                "did_type": r[2], "child_type": r[3], "bytes": r[4], "adler32": r[5],
                "md5": r[6], "deleted_at": now, "created_at": now, "updated_at": now}
               for r in attached.values()]
    insert_dicts(ContentHistory, history)
    for child_scope, names in by_scope(attached):
        Content.delete().where(Content.child_scope == child_scope,
                               names_in(Content.child_name, names),
                               Content.scope == scope, Content.name == name).execute()
    DID.update(updated_at=now).where(DID.scope == scope, DID.name == name).execute()


# -- listings --------------------------------------------------------------------------------------
def _stream(query, key, names, converters=None):
    return map_batches(dbmod.current().iter_query(query, key), row_mapper(names, converters))


def list_content(issuer: Issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """Direct children: ``{"scope","name","type","bytes","adler32","md5"}``."""
    lookup.did(scope, name)
    query = Content.select(Content.child_scope, Content.child_name, Content.child_type,
                           Content.bytes, Content.adler32, Content.md5).where(
        Content.scope == scope, Content.name == name)
    return _stream(query, (Content.child_scope, Content.child_name),
                   ("scope", "name", "type", "bytes", "adler32", "md5"))


def list_content_history(issuer: Issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """The links detached from a collection, with when."""
    lookup.did(scope, name)
    query = ContentHistory.select(ContentHistory.id, ContentHistory.child_scope,
                                  ContentHistory.child_name, ContentHistory.child_type,
                                  ContentHistory.bytes, ContentHistory.adler32,
                                  ContentHistory.md5, ContentHistory.deleted_at).where(
        ContentHistory.scope == scope, ContentHistory.name == name)
    mapper = row_mapper(("id", "scope", "name", "type", "bytes", "adler32", "md5", "deleted_at"),
                        {"deleted_at": rfc1123})

    def without_id(row):
        out = mapper(row)
        del out["id"]
        return out
    return map_batches(dbmod.current().iter_query(query, (ContentHistory.id,)), without_id)


FILE_LINE = ("scope", "name", "bytes", "adler32", "guid", "events")


def list_files(issuer: Issuer, scope: str, name: str, long: bool = False) -> Iterator[list[dict]]:
    """Files of a DID, recursively; a FILE lists itself."""
    row = lookup.did(scope, name)
    return _iter_files(row, long)


def _iter_files(row, long, extra=None):
    names = FILE_LINE + (("lumiblocknr",) if long else ())
    if row.did_type == "FILE":
        line = {"scope": row.scope, "name": row.name, "bytes": row.bytes,
                "adler32": row.adler32, "guid": row.guid, "events": row.events}
        if long:
            line["lumiblocknr"] = row.lumiblocknr
        yield [dict(line, **(extra or {}))]
        return
    for ds_scope, ds_name in datasets_under(row.scope, row.name, row.did_type):
        fields = [Content.child_scope, Content.child_name, Content.bytes, Content.adler32,
                  Content.guid, Content.events]
        query = Content.select(*fields, *([DID.lumiblocknr] if long else []))
        if long:
            query = query.join(DID, pw.JOIN.LEFT_OUTER, on=(DID.scope == Content.child_scope)
                               & (DID.name == Content.child_name))
        query = query.where(Content.scope == ds_scope, Content.name == ds_name)
        mapper = row_mapper(names)
        for batch in dbmod.current().iter_query(query, (Content.child_scope, Content.child_name)):
            if extra:
                yield [dict(mapper(r), **extra) for r in batch]
            else:
                yield [mapper(r) for r in batch]


def bulk_list_files(issuer: Issuer, dids: list) -> Iterator[list[dict]]:
    """``POST /dids/bulkfiles``: the files of each DID, tagged with the DID they belong to;
    a DID that does not exist lists nothing."""
    return _bulk_files(listed_keys(dids))


def _bulk_files(keys):
    for scope, name in keys:
        try:
            row = lookup.did(scope, name)
        except exceptions.DataIdentifierNotFound:
            continue
        yield from _iter_files(row, False, {"parent_scope": scope, "parent_name": name})


def list_parent_dids(issuer: Issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """Direct parents: ``{"scope","name","type"}``."""
    lookup.did(scope, name)
    return _stream(_parents_of(scope, name), (Content.scope, Content.name),
                   ("scope", "name", "type"))


def get_dataset_by_guid(issuer: Issuer, guid: str) -> list[dict]:
    """``GET /dids/{guid}/guid``: the collections holding the file with this GUID."""
    text = str(guid)
    plain = text.replace("-", "").lower()
    forms = {text, text.lower(), plain}
    if len(plain) == 32:
        forms.add(f"{plain[:8]}-{plain[8:12]}-{plain[12:16]}-{plain[16:20]}-{plain[20:]}")
    found = DID.select(DID.scope, DID.name).where(
        DID.guid.in_(sorted(forms)), DID.did_type == "FILE").tuples().first()
    if found is None:
        raise exceptions.DataIdentifierNotFound(f"No file associated to GUID : {guid}")
    return [{"scope": s, "name": n} for s, n, _ in _parents_of(*found).tuples()]


def scope_list(issuer: Issuer, scope: str, name: str | None = None,
               recursive: bool = False) -> Iterator[list[dict]]:
    """``GET /dids/{scope}/``: top-level DIDs (or ``name``) and, if recursive, their content."""
    lookup.scope(scope)
    if name is not None:
        row = lookup.did(scope, name)
        if recursive:       # as Rucio: what is below the named DID, not the DID itself
            return _descendant_lines(row.scope, row.name, 1) if row.did_type != "FILE" \
                else iter(())
        return _scope_tree([(row.scope, row.name, row.did_type, row.bytes)], False)
    attached = Content.select(pw.SQL("1")).where(Content.child_scope == DID.scope,
                                                 Content.child_name == DID.name)
    query = DID.select(DID.scope, DID.name, DID.did_type, DID.bytes).where(
        DID.scope == scope, DID.hidden == False, ~pw.fn.EXISTS(attached))  # noqa: E712
    batches = dbmod.current().iter_query(query, (DID.name,))
    if not recursive:
        return map_batches(batches, _top_line)
    return (out for batch in batches for out in _scope_tree(batch, True))


def _top_line(row):
    scope, name, kind, size = row
    return {"scope": scope, "name": name, "type": kind, "parent": None, "level": 0, "bytes": size}


def _scope_tree(rows, recursive):
    yield [_top_line(r) for r in rows]
    if not recursive:
        return
    for scope, name, kind, _ in rows:
        if kind != "FILE":
            yield from _descendant_lines(scope, name, 1)


def _descendant_lines(scope, name, level):
    """Depth-first content lines below one collection (each collection's children read in
    keyset batches), as Rucio lists them. Iterative, so a deep chain is no deep recursion; a
    collection already being expanded above is listed but not expanded again, so a cycle in
    the graph ends the branch instead of the stream."""
    stack, path = [(None, iter([(scope, name, level)]))], set()
    while stack:
        step = next(stack[-1][1], None)
        if step is None:
            path.discard(stack.pop()[0])
            continue
        scope, name, level = step
        query = Content.select(Content.child_scope, Content.child_name,
                               Content.child_type).where(Content.scope == scope,
                                                         Content.name == name)
        collections = []
        parent = {"scope": scope, "name": name}
        for batch in dbmod.current().iter_query(query, (Content.child_scope, Content.child_name)):
            yield [{"scope": s, "name": n, "type": t, "parent": parent, "level": level}
                   for s, n, t in batch]
            collections.extend((s, n) for s, n, t in batch if t != "FILE")
        path.add((scope, name))
        stack.append(((scope, name), iter([(s, n, level + 1) for s, n in collections
                                           if (s, n) not in path])))
