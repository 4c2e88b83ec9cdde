"""Replicas: bulk registration, state changes, deletion, tombstones and bad replicas.

Every bulk call is set-based (one lookup per chunk of names, multi-row inserts) and runs in one
transaction: one bad item rejects the whole call with a message naming it, nothing written.
"""
import re

import peewee
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import events, permissions
from rucio_tornado.core.bulk import IN_CHUNK, chunks, in_list, insert_rows, select_by_keys
from rucio_tornado.core.common import NAME_PATTERNS, parse_date
from rucio_tornado.core.replicas.pfns import RSECatalog, did_from_hash_path
from rucio_tornado.db import atomic, current, database
from rucio_tornado.models import RSE, DID, BadPFN, BadReplica, DIDMeta, Replica, Scope, utcnow

STATES = {"A": "AVAILABLE", "U": "UNAVAILABLE", "C": "COPYING", "B": "BEING_DELETED",
          "D": "BAD", "T": "TEMPORARY_UNAVAILABLE", "S": "SOURCE"}
ADLER32 = re.compile(r"^[a-fA-F\d]{8}$")
MD5 = re.compile(r"^[a-fA-F\d]{32}$")
MAX_BYTES = 2 ** 63 - 1     # a BIGINT
#: ``meta`` keys of a new file that are DID columns; other keys go to ``DIDMeta``.
DID_COLUMNS = ("guid", "events", "lumiblocknr", "project", "datatype", "run_number",
               "stream_name", "prod_step", "version", "campaign", "task_id", "panda_id",
               "provenance", "phys_group")


# -- lookups ---------------------------------------------------------------------------------
def get_rse_row(rse):
    """The non-deleted RSE called ``rse``, or RSENotFound."""
    row = None
    if isinstance(rse, str):
        row = RSE.get_or_none((RSE.rse == rse) & (RSE.deleted == False))  # noqa: E712
    if row is None:
        raise exceptions.RSENotFound(f"RSE '{rse}' cannot be found")
    return row


def state_name(code, label):
    """A one-letter state code (or a state name) -> the state name."""
    if isinstance(code, str):
        if code in STATES:
            return STATES[code]
        if code.upper() in STATES.values():
            return code.upper()
    raise exceptions.InvalidObject(f"{label}: invalid replica state {code!r}")


def _did_label(item, index):
    if isinstance(item, dict):
        return f"file {index} ({item.get('scope')}:{item.get('name')})"
    return f"file {index}"


_SCOPE, _NAME = NAME_PATTERNS["scope"][0].match, NAME_PATTERNS["name"][0].match


def _checked_did(item, index):
    """``(scope, name)`` of one ``{"scope", "name", ...}`` item, or InvalidObject naming it."""
    if not isinstance(item, dict):
        raise exceptions.InvalidObject(f"{_did_label(item, index)}: must be an object")
    scope, name = item.get("scope"), item.get("name")
    if not isinstance(scope, str) or not _SCOPE(scope):
        raise exceptions.InvalidObject(f"{_did_label(item, index)}: invalid scope {scope!r}")
    if not isinstance(name, str) or not _NAME(name):
        raise exceptions.InvalidObject(f"{_did_label(item, index)}: invalid DID name {name!r}")
    return scope, name


def _checked_list(value, label):
    if not isinstance(value, list):
        raise exceptions.InvalidJSONType(f"{label} must be a list")
    return value


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
def _checked_file(item, index, deterministic, _state=STATES.get, _adler=ADLER32.match,
                  _md5=MD5.match):
    """One file item as ``(scope, name, bytes, adler32, md5, state, pfn, meta)`` (the hot
    path of a 100,000-file registration: one pass of plain checks; errors explained apart)."""
    if type(item) is not dict:
        _checked_did(item, index)
    get = item.get
    scope, name, size = get("scope"), get("name"), get("bytes")
    adler32, md5, code, pfn, meta = (get("adler32"), get("md5"), get("state"), get("pfn"),
                                     get("meta") or {})
    state = _state(code or "A")
    if type(scope) is not str or not _SCOPE(scope) or type(name) is not str or \
            not _NAME(name):
        _checked_did(item, index)
    if state is None or type(size) is not int or size < 0 or size > MAX_BYTES or \
            (adler32 is not None and (type(adler32) is not str or not _adler(adler32))) \
            or (md5 is not None and (type(md5) is not str or not _md5(md5))) or \
            (pfn is not None and type(pfn) is not str) or type(meta) is not dict or \
            (not deterministic and not pfn):
        _explain_bad_file(item, index, deterministic)
    return (scope, name, size, adler32, md5, state, pfn, meta)


def _explain_bad_file(item, index, deterministic):
    """Raise the error that names what is wrong with a file item (the slow, rare path)."""
    label = _did_label(item, index)
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
    with_meta = [f for f in files if f[7]]
    used = [c for c in DID_COLUMNS if any(c in f[7] for f in with_meta)]
    columns = ["scope", "name", "did_type", "account", "bytes", "adler32", "md5"] + used
    rows = [(scope, name, "FILE", account, size, adler32, md5) +
            tuple(meta.get(c) for c in used)
            for scope, name, size, adler32, md5, _, _, meta in files]
    insert_rows(DID, columns, rows)
    extra = [(scope, name, key, ujson.dumps(value),
              float(value) if isinstance(value, (int, float)) and not isinstance(value, bool)
              else None)
             for scope, name, *_, meta in with_meta for key, value in meta.items()
             if key not in DID_COLUMNS]
    insert_rows(DIDMeta, ["scope", "name", "key", "value", "number"], extra)


@atomic
def add_replicas(issuer, rse, files, ignore_availability=True):
    """Register ``files`` (``scope, name, bytes, adler32, md5?, meta?, pfn?, state?``) on the RSE
    named ``rse``, creating the missing FILE DIDs (owned by the issuer). An existing replica
    that is not AVAILABLE (e.g. COPYING for a rule) becomes AVAILABLE when the file is reported
    AVAILABLE (its bytes and checksums must agree); other existing replicas are left as they
    are. Works nested inside another transaction (savepoint)."""
    permissions.check(issuer, "add_replicas", rse=rse)
    rse_row = get_rse_row(rse)
    if not ignore_availability and not rse_row.availability_write:
        raise exceptions.ResourceTemporaryUnavailable(f"{rse} is blocked for writes")
    files = _checked_list(files, "files")
    if current().is_postgresql and rse_row.deterministic and len(files) >= STREAMED_MINIMUM and \
            _add_new_files_streamed(issuer, rse_row, files):
        return
    unique = {}
    for index, item in enumerate(files):
        checked = _checked_file(item, index, rse_row.deterministic)
        unique.setdefault(checked[:2], checked)
    if not unique:
        return
    checked = list(unique.values())
    keys = list(unique)
    _require_scopes(keys)
    existing = {(s, n): rest for s, n, *rest in select_by_keys(
        DID, (DID.scope, DID.name, DID.did_type, DID.bytes, DID.adler32, DID.md5), keys)}
    _check_consistency(checked, existing)
    _insert_dids(issuer.account, [f for f in checked if f[:2] not in existing])

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
        available += [file[:2] for file in arrived]
    if available:
        events.emit(events.REPLICAS_AVAILABLE, rse_id=rse_row.id, dids=available)


#: Files per call from which PostgreSQL first tries the streamed path.
STREAMED_MINIMUM = 1000


class _NotAllNew(Exception):
    """The streamed path does not apply (a file exists already, or carries ``meta``)."""


def _add_new_files_streamed(issuer, rse_row, files):
    """PostgreSQL, the usual big registration (every file new, no ``meta``): the files are
    checked WHILE the DIDs are copied in (PostgreSQL inserts one piece while the next one is
    checked), then the replicas are copied; no existence look-ups. Runs in a savepoint: if
    some file exists already (a unique violation) nothing is left and False is returned, and
    the caller takes the general path. Errors in the input are raised as usual."""
    checked, scopes, failure = [], set(), []

    def did_rows():
        seen = set()
        try:
            for index, item in enumerate(files):
                file = _checked_file(item, index, True)
                if file[:2] in seen:
                    continue
                if file[7]:
                    raise _NotAllNew()
                seen.add(file[:2])
                scopes.add(file[0])
                checked.append(file)
                yield file[0], file[1], "FILE", issuer.account, file[2], file[3], file[4]
        except Exception as exc:   # raised after COPY (psycopg2 would hide it)
            failure.append(exc)

    try:
        with database.atomic():
            insert_rows(DID, ["scope", "name", "did_type", "account", "bytes", "adler32",
                              "md5"], did_rows())
            if failure:
                raise failure[0]
            _require_scopes([(scope, None) for scope in scopes])
            rse_id = rse_row.id
            insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "md5", "adler32",
                                  "state"],
                        ((rse_id, s, n, size, md5, adler32, state)
                         for s, n, size, adler32, md5, state, _, _ in checked))
    except (_NotAllNew, peewee.IntegrityError):
        return False
    available = [file[:2] for file in checked if file[5] == "AVAILABLE"]
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
def _set_states(rse_row, by_state, extra=None):
    """Set each state of ``by_state`` on its replicas; emit REPLICAS_AVAILABLE for A."""
    _update_states(rse_row, by_state, extra)
    keys = by_state.get("AVAILABLE")
    if keys:
        events.emit(events.REPLICAS_AVAILABLE, rse_id=rse_row.id, dids=list(keys))


def _update_states(rse_row, by_state, extra=None):
    """Set each state of ``by_state`` (``{state: [(scope, name)]}``) on its replicas."""
    now = utcnow()
    for state, keys in by_state.items():
        by_scope = {}
        for scope, name in keys:
            by_scope.setdefault(scope, []).append(name)
        for scope, names in by_scope.items():
            for part in chunks(names, IN_CHUNK):
                Replica.update(state=state, updated_at=now, **(extra or {})).where(
                    Replica.rse_id == rse_row.id, Replica.scope == scope,
                    in_list(Replica.name, part)).execute()


@atomic
def update_replicas_states(issuer, rse, files):
    """``files``: ``[{"scope", "name", "state": "A|U|C|B|D|T"}]`` on the RSE ``rse``."""
    permissions.check(issuer, "update_replicas_states", rse=rse)
    rse_row = get_rse_row(rse)
    by_state, keys = {}, []
    for index, item in enumerate(_checked_list(files, "files")):
        key = _checked_did(item, index)
        state = state_name(item.get("state"), _did_label(item, index))
        by_state.setdefault(state, []).append(key)
        keys.append(key)
    _require_replicas(rse_row, keys)
    _set_states(rse_row, by_state)


@atomic
def delete_replicas(issuer, rse, files, ignore_availability=True):
    """Delete replica rows (root/admin only); emits REPLICAS_REMOVED."""
    permissions.check(issuer, "delete_replicas", rse=rse)
    rse_row = get_rse_row(rse)
    if not ignore_availability and not rse_row.availability_delete:
        raise exceptions.ResourceTemporaryUnavailable(f"{rse} is blocked for deletion")
    keys = list(dict.fromkeys(_checked_did(item, index) for index, item in
                              enumerate(_checked_list(files, "files"))))
    _require_replicas(rse_row, keys)
    by_scope = {}
    for scope, name in keys:
        by_scope.setdefault(scope, []).append(name)
    for scope, names in by_scope.items():
        for part in chunks(names, IN_CHUNK):
            Replica.delete().where(Replica.rse_id == rse_row.id, Replica.scope == scope,
                                   in_list(Replica.name, part)).execute()
    events.emit(events.REPLICAS_REMOVED, rse_id=rse_row.id, dids=keys)


@atomic
def set_tombstone(issuer, replicas):
    """``[{"rse", "scope", "name"}]``: mark each replica for immediate deletion."""
    now = utcnow()
    rse_rows = {}
    for index, item in enumerate(_checked_list(replicas, "replicas")):
        scope, name = _checked_did(item, index)
        rse = item.get("rse")
        permissions.check(issuer, "set_tombstone", rse=rse)
        rse_row = rse_rows.get(rse) or rse_rows.setdefault(rse, get_rse_row(rse))
        row = Replica.get_or_none(Replica.rse_id == rse_row.id, Replica.scope == scope,
                                  Replica.name == name)
        if row is None:
            raise exceptions.ReplicaNotFound(f"Replica {scope}:{name} on {rse} cannot be found")
        if row.lock_cnt > 0:
            raise exceptions.ReplicaIsLocked(f"Replica {scope}:{name} on {rse} is locked")
        Replica.update(tombstone=now, updated_at=now).where(
            Replica.rse_id == rse_row.id, Replica.scope == scope, Replica.name == name).execute()


# -- bad replicas ------------------------------------------------------------------------------
def _reason(reason):
    if reason is not None and not isinstance(reason, str):
        raise exceptions.InvalidObject("'reason' must be a string")
    return reason


def _replica_of_pfn(catalog, pfn):
    """(RSEInfo, scope, name) of the replica a PFN points to, or None.

    Several RSEs may share a protocol prefix: the PFN names the one that holds the replica."""
    for info, path in catalog.parse_pfn(pfn):
        if info.deterministic:
            did = did_from_hash_path(path)
            if did is not None and Replica.select().where(
                    Replica.rse_id == info.id, Replica.scope == did[0],
                    Replica.name == did[1]).exists():
                return (info,) + did
        row = Replica.get_or_none(Replica.rse_id == info.id, Replica.path.in_([path, pfn]))
        if row is not None:
            return info, row.scope, row.name
    row = Replica.get_or_none(Replica.path == pfn)
    if row is not None and row.rse_id in catalog.by_id:
        return catalog.by_id[row.rse_id], row.scope, row.name
    return None


def _declare(issuer, targets, reason, state="BAD"):
    """Mark ``targets`` ``[(rse_row_or_info, scope, name, label)]`` BAD; returns the
    ``{rse: ["label: error"]}`` of those that could not be declared."""
    failed, good = {}, {}
    for rse, scope, name, label in targets:
        row = Replica.get_or_none(Replica.rse_id == rse.id, Replica.scope == scope,
                                  Replica.name == name)
        if row is None:
            failed.setdefault(rse.rse, []).append(f"{label}: replica not found")
            continue
        good.setdefault(rse.id, (rse, []))[1].append((scope, name, row.bytes))
    for rse_id, (rse, items) in good.items():
        insert_rows(BadReplica, ["scope", "name", "rse_id", "reason", "state", "account",
                                 "bytes"],
                    [(s, n, rse_id, reason, state, issuer.account, b) for s, n, b in items])
        if state == "BAD":
            _set_states(rse, {"BAD": [(s, n) for s, n, _ in items]})
    return failed


@atomic
def declare_bad_replicas(issuer, replicas, reason, force=False):
    """``replicas``: PFN strings or ``{"scope", "name", "rse"|"rse_id"}`` dicts."""
    permissions.check(issuer, "declare_bad_replicas")
    reason = _reason(reason)
    catalog = RSECatalog()
    targets, failed = [], {}
    for index, item in enumerate(_checked_list(replicas, "replicas")):
        if isinstance(item, str):
            found = _replica_of_pfn(catalog, item)
            if found is None:
                failed.setdefault("unknown", []).append(f"{item}: unknown replica")
            else:
                targets.append(found + (item,))
            continue
        scope, name = _checked_did(item, index)
        info = catalog.by_id.get(item.get("rse_id")) or catalog.by_name.get(item.get("rse"))
        if info is None:
            raise exceptions.RSENotFound(
                f"RSE '{item.get('rse') or item.get('rse_id')}' cannot be found")
        targets.append((info, scope, name, f"{scope}:{name}"))
    for rse, errors in _declare(issuer, targets, reason).items():
        failed.setdefault(rse, []).extend(errors)
    return failed


@atomic
def declare_bad_did_replicas(issuer, rse, dids, reason):
    permissions.check(issuer, "declare_bad_replicas")
    rse_row = get_rse_row(rse)
    targets = [(rse_row,) + _checked_did(item, index) + (f"{item['scope']}:{item['name']}",)
               for index, item in enumerate(_checked_list(dids, "dids"))]
    return _declare(issuer, targets, _reason(reason))


BAD_PFN_STATES = {"B": "BAD", "S": "SUSPICIOUS", "T": "TEMPORARY_UNAVAILABLE"}


@atomic
def add_bad_pfns(issuer, pfns, reason, state, expires_at=None):
    """Record PFNs as BAD / SUSPICIOUS / TEMPORARY_UNAVAILABLE; BAD ones also mark the replica."""
    permissions.check(issuer, "declare_bad_replicas")
    reason = _reason(reason)
    state = BAD_PFN_STATES.get(state, state)
    if state not in BAD_PFN_STATES.values():
        raise exceptions.InvalidObject(f"Invalid bad PFN state {state!r}")
    expires = parse_date(expires_at, "expires_at") if expires_at else None
    if state == "TEMPORARY_UNAVAILABLE" and expires is None:
        raise exceptions.InvalidObject("TEMPORARY_UNAVAILABLE needs an 'expires_at'")
    pfns = _checked_list(pfns, "pfns")
    for pfn in pfns:
        if not isinstance(pfn, str) or "://" not in pfn:
            raise exceptions.InvalidObject(f"Invalid PFN {pfn!r}")
    insert_rows(BadPFN, ["path", "state", "reason", "account", "expires_at"],
                [(pfn, state, reason, issuer.account, expires) for pfn in pfns])
    if state != "SUSPICIOUS":
        catalog = RSECatalog()
        new_state = "BAD" if state == "BAD" else "TEMPORARY_UNAVAILABLE"
        for pfn in pfns:
            found = _replica_of_pfn(catalog, pfn)
            if found is not None:
                _set_states(found[0], {new_state: [found[1:]]})


def dids_from_pfns(issuer, pfns, rse=None):
    """``POST /replicas/dids``: ``[{pfn: {"scope", "name"}}]`` for the PFNs that point to a
    replica (on ``rse`` if given)."""
    pfns = _checked_list(pfns, "pfns")
    rse_id = get_rse_row(rse).id if rse else None
    catalog = RSECatalog()
    out = []
    for pfn in pfns:
        found = _replica_of_pfn(catalog, pfn) if isinstance(pfn, str) else None
        if found is not None and (rse_id is None or found[0].id == rse_id):
            out.append({pfn: {"scope": found[1], "name": found[2]}})
    return out
