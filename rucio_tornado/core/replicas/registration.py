"""Replicas: bulk registration, state changes, deletion and tombstones.

Every bulk call is set-based (one lookup per chunk of names, multi-row inserts) and runs in one
transaction: one bad item rejects the whole call with a message naming it, nothing written.
Declaring replicas bad lives in :mod:`rucio_tornado.core.replicas.bad`.
"""
import re

import peewee
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import events, lookup, permissions
from rucio_tornado.core.bulk import by_scope, in_list, insert_rows, select_by_keys
from rucio_tornado.core.common import bulk_items, NAME_PATTERNS, check_type, did_key, did_keys, did_label
from rucio_tornado.core.dids.graph import check_scope_permission
from rucio_tornado.core.replicas.pfns import RSECatalog
from rucio_tornado.db import atomic, database
from rucio_tornado.models import DID, DIDMeta, Replica, Scope, utcnow

REPLICA_STATES = {"A": "AVAILABLE", "U": "UNAVAILABLE", "C": "COPYING", "B": "BEING_DELETED",
                  "D": "BAD", "T": "TEMPORARY_UNAVAILABLE", "S": "SOURCE"}
ADLER32 = re.compile(r"^[a-fA-F\d]{8}$")
MD5 = re.compile(r"^[a-fA-F\d]{32}$")
MAX_BYTES = 2 ** 63 - 1     # a BIGINT
#: ``meta`` keys of a new file that are DID columns; other keys go to ``DIDMeta``.
DID_COLUMNS = ("guid", "events", "lumiblocknr", "project", "datatype", "run_number",
               "stream_name", "prod_step", "version", "campaign", "task_id", "panda_id",
               "provenance", "phys_group")
#: Fields of a checked file (:func:`_checked_file`): a plain tuple read by index, because a
#: named tuple costs measurable time on a 100,000-file registration.
F_SCOPE, F_NAME, F_BYTES, F_ADLER32, F_MD5, F_STATE, F_PFN, F_META = range(8)
#: ``file[F_KEY]``: the ``(scope, name)`` of a checked file.
F_KEY = slice(F_SCOPE, F_NAME + 1)


def state_name(code, label: str) -> str:
    """A one-letter state code (or a state name) -> the state name."""
    if isinstance(code, str):
        if code in REPLICA_STATES:
            return REPLICA_STATES[code]
        if code.upper() in REPLICA_STATES.values():
            return code.upper()
    raise exceptions.InvalidObject(f"{label}: invalid replica state {code!r}")


def _file_label(item, index):
    """How an error names the file item ``index`` of a call (``file 3 (scope:name)``)."""
    if isinstance(item, dict):
        return f"file {index} ({did_label(item.get('scope'), item.get('name'))})"
    return f"file {index}"


def _file_key(item, index):
    """``(scope, name)`` of the file item ``index``; InvalidObject naming it (the label is
    only built for the error)."""
    try:
        return did_key(item)
    except exceptions.InvalidObject:
        return did_key(item, _file_label(item, index))


_SCOPE, _NAME = NAME_PATTERNS["scope"][0].match, NAME_PATTERNS["name"][0].match


def _require_scopes(keys):
    scopes = {scope for scope, _ in keys}
    found = {s for (s,) in Scope.select(Scope.scope).where(
        Scope.scope.in_(list(scopes)), Scope.status != "DELETED").tuples()}
    for scope in sorted(scopes - found):
        raise exceptions.ScopeNotFound(f"Scope '{scope}' does not exist")


def _existing_replicas(rse_id, keys):
    """``(scope, name)`` of the replicas among ``keys`` on the RSE ``rse_id``."""
    return (tuple(row) for row in select_by_keys(Replica, (Replica.scope, Replica.name), keys,
                                                 where=((Replica.rse_id, rse_id),)))


def _require_replicas(rse_row, keys):
    """Raise ReplicaNotFound naming the first of ``keys`` without a replica on ``rse_row``."""
    found = set(_existing_replicas(rse_row.id, keys))
    for scope, name in keys:
        if (scope, name) not in found:
            raise exceptions.ReplicaNotFound(
                f"Replica {scope}:{name} on {rse_row.rse} cannot be found")


# -- registration ------------------------------------------------------------------------------
def _checked_file(item, index, deterministic, _state=REPLICA_STATES.get,
                  _adler=ADLER32.match, _md5=MD5.match):
    """One file item as ``(scope, name, bytes, adler32, md5, state, pfn, meta)`` (read with
    the ``F_*`` indexes; ``meta`` is None when absent or empty). The hot path of a
    100,000-file registration: one pass of plain checks; errors are explained apart. The tuple
    holds no container unless the file has ``meta``: the garbage collector then stops tracking
    it at its first pass (an empty dict in each of 100,000 live tuples made the collector walk
    them all, again and again: a tenth of the call)."""
    if type(item) is not dict:
        _file_key(item, index)
    get = item.get
    scope, name, size = get("scope"), get("name"), get("bytes")
    adler32, md5, code, pfn, meta = (get("adler32"), get("md5"), get("state"), get("pfn"),
                                     get("meta") or None)
    state = _state(code or "A")
    if type(scope) is not str or not _SCOPE(scope) or type(name) is not str or \
            not _NAME(name):
        _file_key(item, index)
    if state is None or type(size) is not int or size < 0 or size > MAX_BYTES or \
            (adler32 is not None and (type(adler32) is not str or not _adler(adler32))) \
            or (md5 is not None and (type(md5) is not str or not _md5(md5))) or \
            (pfn is not None and type(pfn) is not str) or \
            (meta is not None and type(meta) is not dict) or \
            (not deterministic and not pfn):
        _explain_bad_file(item, index, deterministic)
    return (scope, name, size, adler32, md5, state, pfn, meta)


def _explain_bad_file(item, index, deterministic):
    """Raise the error that names what is wrong with a file item (the slow, rare path)."""
    label = _file_label(item, index)
    size, adler32, md5 = item.get("bytes"), item.get("adler32"), item.get("md5")
    state_name(item.get("state") or "A", label)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_BYTES:
        raise exceptions.InvalidObject(f"{label}: 'bytes' must be a non-negative integer")
    if adler32 is not None and (not isinstance(adler32, str) or not ADLER32.match(adler32)):
        raise exceptions.InvalidObject(f"{label}: invalid adler32 {adler32!r}")
    if md5 is not None and (not isinstance(md5, str) or not MD5.match(md5)):
        raise exceptions.InvalidObject(f"{label}: invalid md5 {md5!r}")
    if item.get("pfn") is not None and not isinstance(item.get("pfn"), str):
        raise exceptions.InvalidObject(f"{label}: 'pfn' must be a string")
    if not isinstance(item.get("meta") or {}, dict):
        raise exceptions.InvalidObject(f"{label}: 'meta' must be an object")
    raise exceptions.InvalidPath(f"{label}: a non-deterministic RSE needs a 'pfn'")


def _relative_path(catalog, rse_id, pfn):
    """A non-deterministic replica's ``path``: the PFN without its protocol prefix if it
    matches one of the RSE's protocols, else the PFN as given."""
    for info, path in catalog.parse_pfn(pfn):
        if info.id == rse_id:
            return path
    return pfn


def _check_consistency(files, existing):
    for scope, name, size, adler32, md5, *_ in files:
        row = existing.get((scope, name))
        if row is None:
            continue
        did_type, old_bytes, old_adler32, old_md5 = row
        if did_type != "FILE":
            raise exceptions.UnsupportedOperation(
                f"{scope}:{name} is a {did_type}, not a file")
        if (old_bytes is not None and old_bytes != size) or \
                (adler32 and old_adler32 and adler32.lower() != old_adler32.lower()) or \
                (md5 and old_md5 and md5.lower() != old_md5.lower()):
            raise exceptions.FileConsistencyMismatch(
                f"(bytes, adler32, md5) of {scope}:{name} ({size}, {adler32}, {md5}) differ from "
                f"the registered file ({old_bytes}, {old_adler32}, {old_md5})")


def _insert_dids(account, files):
    with_meta = [f for f in files if f[F_META]]
    used = [c for c in DID_COLUMNS if any(c in f[F_META] for f in with_meta)]
    columns = ["scope", "name", "did_type", "account", "bytes", "adler32", "md5"] + used
    nothing = (None,) * len(used)
    rows = [(scope, name, "FILE", account, size, adler32, md5) +
            (tuple(meta.get(c) for c in used) if meta else nothing)
            for scope, name, size, adler32, md5, _, _, meta in files]
    insert_rows(DID, columns, rows)
    extra = [(scope, name, key, ujson.dumps(value),
              float(value) if isinstance(value, (int, float)) and not isinstance(value, bool)
              else None)
             for scope, name, *_, meta in with_meta for key, value in meta.items()
             if key not in DID_COLUMNS]
    insert_rows(DIDMeta, ["scope", "name", "key", "value", "number"], extra)


@atomic
def add_replicas(issuer, rse: str, files: list, ignore_availability: bool = True) -> None:
    """Register ``files`` (``scope, name, bytes, adler32, md5?, meta?, pfn?, state?``) on the RSE
    named ``rse``, creating the missing FILE DIDs (owned by the issuer). An existing replica
    that is not AVAILABLE (e.g. COPYING for a rule) becomes AVAILABLE when the file is reported
    AVAILABLE (its bytes and checksums must agree); other existing replicas are left as they
    are. Works nested inside another transaction (savepoint)."""
    permissions.check(issuer, "add_replicas", rse=rse)
    rse_row = lookup.rse(rse)
    if not ignore_availability and not rse_row.availability_write:
        raise exceptions.ResourceTemporaryUnavailable(f"{rse} is blocked for writes")
    files = bulk_items(files, "files")
    if rse_row.deterministic and len(files) >= STREAMED_MINIMUM and \
            _add_new_files_streamed(issuer, rse_row, files):
        return
    for attempt in range(1, CONCURRENT_RETRIES + 1):
        try:
            with database.atomic():         # a savepoint: a lost race leaves nothing behind
                return _register(issuer, rse_row, files)
        except peewee.IntegrityError:
            # another request registered some of these new files since we looked (it held
            # the same unique keys until it committed): look again, they now exist
            if attempt == CONCURRENT_RETRIES:
                raise


#: Times a registration is tried again when concurrent writers created the same new files.
CONCURRENT_RETRIES = 3


def _register(issuer, rse_row, files):
    """The general registration path (see :func:`add_replicas`), inside one savepoint."""
    unique = {}
    for index, item in enumerate(files):
        checked = _checked_file(item, index, rse_row.deterministic)
        unique.setdefault(checked[F_KEY], checked)
    if not unique:
        return
    checked = list(unique.values())
    keys = list(unique)
    _require_scopes(keys)
    existing = {(s, n): rest for s, n, *rest in select_by_keys(
        DID, (DID.scope, DID.name, DID.did_type, DID.bytes, DID.adler32, DID.md5), keys)}
    _check_consistency(checked, existing)
    check_scope_permission(issuer, "add_did", {key[0] for key in keys if key not in existing})
    _insert_dids(issuer.account, [f for f in checked if f[F_KEY] not in existing])

    # a replica can only exist for a file that already existed
    present = {(s, n): rest for s, n, *rest in select_by_keys(
        Replica, (Replica.scope, Replica.name, Replica.state, Replica.bytes, Replica.adler32,
                  Replica.md5), list(existing), where=((Replica.rse_id, rse_row.id),))} if existing else {}
    catalog = None if rse_row.deterministic else RSECatalog()
    rows, available, arrived = [], [], []
    for scope, name, size, adler32, md5, state, pfn, _ in checked:
        if (scope, name) in present:
            if state == "AVAILABLE" and present[(scope, name)][0] != "AVAILABLE":
                arrived.append((scope, name, size, adler32, md5))
            continue
        path = _relative_path(catalog, rse_row.id, pfn) if catalog and pfn else None
        rows.append((rse_row.id, scope, name, size, md5, adler32, path, state))
        if state == "AVAILABLE":
            available.append((scope, name))
    insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "md5", "adler32", "path", "state"],
                rows)
    if arrived:
        _check_consistency(arrived, {key: ("FILE",) + tuple(row[1:])
                                     for key, row in present.items()})
        _make_available(rse_row, arrived, present)
        available += [file[:2] for file in arrived]   # (scope, name, bytes, adler32, md5)
    if available:
        events.emit(events.REPLICAS_AVAILABLE, rse_id=rse_row.id, dids=available)


#: Files per call from which the streamed path is tried first.
STREAMED_MINIMUM = 1000


class _NotAllNew(Exception):
    """The streamed path does not apply (a file exists already, or carries ``meta``)."""


def _add_new_files_streamed(issuer, rse_row, files):
    """The usual big registration (every file new, no ``meta``): the DIDs are inserted, then
    the replicas; no existence look-ups (a quarter of the call on SQLite). On PostgreSQL the
    files are checked WHILE the DIDs are copied in (PostgreSQL inserts one piece while the
    next one is checked); SQLite checks them all, then inserts. Runs in a savepoint: if
    some file exists already (a unique violation) nothing is left and False is returned, and
    the caller takes the general path. Errors in the input are raised as usual."""
    checked, scopes, failure = [], set(), []

    def did_rows():
        seen = set()
        try:
            for index, item in enumerate(files):
                file = _checked_file(item, index, True)
                key = file[F_KEY]
                if key in seen:
                    continue
                if file[F_META]:
                    raise _NotAllNew()
                seen.add(key)
                scopes.add(file[F_SCOPE])
                checked.append(file)
                yield (file[F_SCOPE], file[F_NAME], "FILE", issuer.account, file[F_BYTES],
                       file[F_ADLER32], file[F_MD5])
        except Exception as exc:   # raised after COPY (psycopg2 would hide it)
            failure.append(exc)

    try:
        with database.atomic():
            insert_rows(DID, ["scope", "name", "did_type", "account", "bytes", "adler32",
                              "md5"], did_rows())
            if failure:
                raise failure[0]
            _require_scopes([(scope, None) for scope in scopes])
            check_scope_permission(issuer, "add_did", scopes)   # every file is new here
            rse_id = rse_row.id
            insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "md5", "adler32",
                                  "state"],
                        ((rse_id, s, n, size, md5, adler32, state)
                         for s, n, size, adler32, md5, state, _, _ in checked))
    except (_NotAllNew, peewee.IntegrityError):
        return False
    available = [file[F_KEY] for file in checked if file[F_STATE] == "AVAILABLE"]
    if available:
        events.emit(events.REPLICAS_AVAILABLE, rse_id=rse_row.id, dids=available)
    return True


def _make_available(rse_row, files, present):
    """Existing replicas (e.g. COPYING for a rule) reported again as AVAILABLE: they become
    AVAILABLE (API decision 9), set-based; a replica row missing a reported checksum gets it."""
    _update_states(rse_row, {"AVAILABLE": [file[:2] for file in files]})
    now = utcnow()
    for scope, name, _, adler32, md5 in files:
        _, _, old_adler32, old_md5 = present[(scope, name)]
        changes = {}
        if adler32 and not old_adler32:
            changes["adler32"] = adler32
        if md5 and not old_md5:
            changes["md5"] = md5
        if changes:
            Replica.update(updated_at=now, **changes).where(
                Replica.rse_id == rse_row.id, Replica.scope == scope,
                Replica.name == name).execute()


# -- state changes -----------------------------------------------------------------------------
def set_states(rse_row, by_state: dict, extra: dict | None = None) -> None:
    """Set each state of ``by_state`` on its replicas; emit REPLICAS_AVAILABLE for A."""
    _update_states(rse_row, by_state, extra)
    keys = by_state.get("AVAILABLE")
    if keys:
        events.emit(events.REPLICAS_AVAILABLE, rse_id=rse_row.id, dids=list(keys))


def _update_states(rse_row, by_state, extra=None):
    """Set each state of ``by_state`` (``{state: [(scope, name)]}``) on its replicas."""
    now = utcnow()
    for state, keys in by_state.items():
        for scope, names in by_scope(keys):
            Replica.update(state=state, updated_at=now, **(extra or {})).where(
                Replica.rse_id == rse_row.id, Replica.scope == scope,
                in_list(Replica.name, names)).execute()


@atomic
def update_replicas_states(issuer, rse: str, files: list) -> None:
    """``files``: ``[{"scope", "name", "state": "A|U|C|B|D|T"}]`` on the RSE ``rse``."""
    permissions.check(issuer, "update_replicas_states", rse=rse)
    rse_row = lookup.rse(rse)
    by_state, keys = {}, []
    for index, item in enumerate(bulk_items(files, "files")):
        key = _file_key(item, index)
        state = state_name(item.get("state"), _file_label(item, index))
        by_state.setdefault(state, []).append(key)
        keys.append(key)
    _require_replicas(rse_row, keys)
    set_states(rse_row, by_state)


@atomic
def delete_replicas(issuer, rse: str, files: list, ignore_availability: bool = True) -> None:
    """Delete replica rows: refused to everyone, as the real policy; emits REPLICAS_REMOVED."""
    permissions.check(issuer, "delete_replicas", rse=rse)
    rse_row = lookup.rse(rse)
    if not ignore_availability and not rse_row.availability_delete:
        raise exceptions.ResourceTemporaryUnavailable(f"{rse} is blocked for deletion")
    keys = did_keys(files, "files")
    _require_replicas(rse_row, keys)
    for scope, names in by_scope(keys):
        Replica.delete().where(Replica.rse_id == rse_row.id, Replica.scope == scope,
                               in_list(Replica.name, names)).execute()
    events.emit(events.REPLICAS_REMOVED, rse_id=rse_row.id, dids=keys)


@atomic
def set_tombstone(issuer, replicas: list) -> None:
    """``[{"rse", "scope", "name"}]``: mark each replica for immediate deletion."""
    now = utcnow()
    rse_rows = {}
    for index, item in enumerate(bulk_items(replicas, "replicas")):
        scope, name = did_key(item, f"replicas[{index}]")
        rse = check_type(item.get("rse"), str, f"replicas[{index}].rse")
        permissions.check(issuer, "set_tombstone", rse=rse)
        rse_row = rse_rows.get(rse) or rse_rows.setdefault(rse, lookup.rse(rse))
        row = Replica.get_or_none(Replica.rse_id == rse_row.id, Replica.scope == scope,
                                  Replica.name == name)
        if row is None:
            raise exceptions.ReplicaNotFound(f"Replica {scope}:{name} on {rse} cannot be found")
        if row.lock_cnt > 0:
            raise exceptions.ReplicaIsLocked(f"Replica {scope}:{name} on {rse} is locked")
        Replica.update(tombstone=now, updated_at=now).where(
            Replica.rse_id == rse_row.id, Replica.scope == scope, Replica.name == name).execute()
