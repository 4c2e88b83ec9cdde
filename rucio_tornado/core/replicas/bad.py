"""Bad and suspicious replicas, read and written: declarations (by PFN or DID), bad PFNs,
SUSPICIOUS entries, the states listing and the daily summary.

Every write goes to the ``BadReplica`` (or ``BadPFN``) table; BAD declarations also set the
replica's state, SUSPICIOUS ones leave the replica as it is.
"""
import datetime

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.bulk import insert_rows, select_by_keys
from rucio_tornado.core.common import bulk_items, check_type, did_key, did_label, parse_date, rfc1123, \
    row_mapper
from rucio_tornado.core.replicas.pfns import RSECatalog, rse_names
from rucio_tornado.core.replicas.registration import set_states
from rucio_tornado.core.rses import expression as expressions
from rucio_tornado.db import atomic, current
from rucio_tornado.models import BadPFN, BadReplica, Replica, utcnow

BAD_STATES = {"B": "BAD", "D": "DELETED", "L": "LOST", "R": "RECOVERED", "S": "SUSPICIOUS",
              "T": "TEMPORARY_UNAVAILABLE"}
#: Suspicious declarations counted by default: those of the last ten days (as Rucio).
SUSPICIOUS_WINDOW = datetime.timedelta(days=10)
BAD_PFN_STATES = {"B": "BAD", "S": "SUSPICIOUS", "T": "TEMPORARY_UNAVAILABLE"}
#: A replica also declared in one of these states in the window is not listed as suspicious.
SUSPICIOUS_EXCLUDED = ("BAD", "RECOVERED", "DELETED")
#: The longest a PFN may be declared TEMPORARY_UNAVAILABLE for.
MAX_UNAVAILABLE = datetime.timedelta(days=30)


def _state(value):
    if value is None:
        return None
    state = BAD_STATES.get(value, value.upper() if isinstance(value, str) else value)
    if state not in BAD_STATES.values():
        raise exceptions.InvalidObject(f"Invalid bad replica state {value!r}")
    return state


def _reason(reason):
    if reason is not None and not isinstance(reason, str):
        raise exceptions.InvalidObject("'reason' must be a string")
    return reason


def _rse_ids(rse_expression):
    """The ids of the RSEs ``rse_expression`` selects."""
    return {rse["id"] for rse in expressions.resolve(rse_expression)}


def _int(value, label):
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise exceptions.InvalidObject(f"'{label}' must be an integer") from None
    if number < 0:
        raise exceptions.InvalidObject(f"'{label}' must not be negative")
    return number


def list_bad_replicas_status(issuer, state=None, rse=None, younger_than=None, older_than=None,
                             limit=None):
    """``GET /replicas/bad/states``: batches of ``{scope, name, rse, rse_id, state, reason,
    created_at, updated_at}``, oldest first."""
    query = BadReplica.select(BadReplica.id, BadReplica.scope, BadReplica.name,
                              BadReplica.rse_id, BadReplica.state, BadReplica.reason,
                              BadReplica.created_at, BadReplica.updated_at)
    state = _state(state)
    if state is not None:
        query = query.where(BadReplica.state == state)
    names = rse_names()
    if rse is not None:
        query = query.where(BadReplica.rse_id == lookup.rse(rse).id)
    if younger_than is not None:
        query = query.where(BadReplica.created_at >= parse_date(younger_than, "younger_than"))
    if older_than is not None:
        query = query.where(BadReplica.created_at <= parse_date(older_than, "older_than"))
    limit = _int(limit, "limit")
    to_dict = row_mapper(["id", "scope", "name", "rse_id", "state", "reason", "created_at",
                          "updated_at"], {"created_at": rfc1123, "updated_at": rfc1123})

    def rows():
        left = limit
        for batch in current().iter_query(query, key=(BadReplica.id,)):
            if left is not None:
                batch = batch[:left]
                left -= len(batch)
            out = []
            for row in batch:
                item = to_dict(row)
                del item["id"]
                item["rse"] = names.get(item["rse_id"])
                out.append(item)
            if out:
                yield out
            if left == 0:
                return
    return rows()


def bad_replicas_summary(issuer, rse_expression=None, from_date=None, to_date=None):
    """``GET /replicas/bad/summary``: per RSE, day and reason, the number of entries in each
    state (one pass over the table in batches; memory of one row per group)."""
    query = BadReplica.select(BadReplica.id, BadReplica.rse_id, BadReplica.reason,
                              BadReplica.state, BadReplica.created_at)
    if from_date is not None:
        query = query.where(BadReplica.created_at >= parse_date(from_date, "from_date"))
    if to_date is not None:
        query = query.where(BadReplica.created_at <= parse_date(to_date, "to_date"))
    if rse_expression is not None:
        query = query.where(BadReplica.rse_id.in_(list(_rse_ids(rse_expression)) or [""]))
    groups = {}
    for batch in current().iter_query(query, key=(BadReplica.id,)):
        for _, rse_id, reason, state, created_at in batch:
            day = str(created_at)[:10]
            counts = groups.setdefault((rse_id, day, reason), {})
            counts[state] = counts.get(state, 0) + 1
    names = rse_names()
    out = []
    for (rse_id, day, reason), counts in sorted(groups.items(), key=lambda g: (g[0][1],
                                                                            g[0][0])):
        item = {"rse_id": rse_id, "rse": names.get(rse_id), "created_at": day,
                "reason": reason}
        item.update({state: counts.get(state, 0) for state in BAD_STATES.values()})
        out.append(item)
    return out


@atomic
def declare_suspicious_file_replicas(issuer, pfns, reason):
    """``POST /replicas/suspicious``: record each PFN's replica as SUSPICIOUS (the replica is
    not changed). Returns, as the real server, ``{"unknown": [pfn]}`` for the PFNs no RSE
    protocol fits and ``{rse: ["pfn Unknown replica"]}`` for those without a replica."""
    reason = _reason(reason)
    targets, failed, unmatched = _pfn_targets(RSECatalog(), check_type(pfns, list, "pfns"))
    if unmatched:
        failed["unknown"] = unmatched
    for rse, errors in _declare(issuer, targets, reason, "SUSPICIOUS").items():
        failed.setdefault(rse, []).extend(errors)
    return failed


def list_suspicious_replicas(issuer, rse_expression=None, younger_than=None, nattempts=None):
    """``GET /replicas/suspicious``: ``[{scope, name, rse, rse_id, cnt, created_at}]`` as the
    real server: the existing replicas declared more than ``nattempts`` times since
    ``younger_than`` (default: the last ten days), not counting those also declared BAD,
    RECOVERED or DELETED in that time; ``created_at`` is the replica's."""
    since = parse_date(younger_than, "younger_than") if younger_than else \
        utcnow() - SUSPICIOUS_WINDOW
    minimum = _int(nattempts, "nattempts") or 0
    query = BadReplica.select(BadReplica.id, BadReplica.scope, BadReplica.name,
                              BadReplica.rse_id, BadReplica.state).where(
        BadReplica.created_at >= since)
    if rse_expression is not None:
        query = query.where(BadReplica.rse_id.in_(list(_rse_ids(rse_expression)) or [""]))
    counts, excluded = {}, set()
    for batch in current().iter_query(query, key=(BadReplica.id,)):
        for _, scope, name, rse_id, state in batch:
            key = (rse_id, scope, name)
            if state in SUSPICIOUS_EXCLUDED:
                excluded.add(key)
            counts[key] = counts.get(key, 0) + 1
    wanted = {key: count for key, count in counts.items()
              if count > minimum and key not in excluded}
    by_rse = {}
    for rse_id, scope, name in wanted:
        by_rse.setdefault(rse_id, []).append((scope, name))
    names, out = rse_names(), []
    for rse_id, keys in sorted(by_rse.items()):
        for scope, name, created_at in select_by_keys(
                Replica, (Replica.scope, Replica.name, Replica.created_at), keys,
                where=((Replica.rse_id, rse_id),)):
            out.append({"scope": scope, "name": name, "rse": names.get(rse_id),
                        "rse_id": rse_id, "cnt": wanted[(rse_id, scope, name)],
                        "created_at": rfc1123(created_at)})
    return sorted(out, key=lambda item: (item["scope"], item["name"], item["rse"] or ""))


# -- declarations ------------------------------------------------------------------------------
def _pfn_targets(catalog, pfns):
    """``pfns`` -> ``(targets, failed, unmatched)``: ``[(rse, scope, name, pfn)]`` of those
    naming a replica, ``{rse: ["pfn Unknown replica"]}`` of those an RSE protocol fits
    without a replica, and the PFNs no protocol fits. As the real server, the PFNs of one
    call must share a scheme."""
    targets, failed, unmatched = [], {}, []
    schemes = set()
    for pfn in pfns:
        if not isinstance(pfn, str):
            raise exceptions.InvalidType(f"Invalid PFN {pfn!r}")
        schemes.add(pfn.split(":", 1)[0])
        if len(schemes) > 1:
            raise exceptions.InvalidType("The PFNs specified must have the same protocol")
        found = catalog.replica_of(pfn)
        if found is not None:
            targets.append((found.rse, found.scope, found.name, pfn))
            continue
        fits = sorted({info.rse for info, _ in catalog.parse_pfn(pfn)})
        if fits:
            failed.setdefault(fits[0], []).append(f"{pfn} Unknown replica")
        else:
            unmatched.append(pfn)
    return targets, failed, unmatched


def _declare(issuer, targets, reason, state="BAD", force=False):
    """Record ``targets`` ``[(rse_row_or_info, scope, name, label)]`` as ``state`` (BAD ones
    also become BAD replicas); returns ``{rse: ["label error"]}`` of those not declared.

    As the real server: a replica missing is ``Unknown replica``; one declared BAD before is
    ``Already declared`` unless ``force`` (its state is set again, no new entry)."""
    failed, by_rse = {}, {}
    for rse, scope, name, label in targets:
        by_rse.setdefault(rse.id, (rse, {}))[1].setdefault((scope, name), label)
    for rse_id, (rse, labels) in by_rse.items():
        keys = list(labels)
        sizes = {(s, n): b for s, n, b in select_by_keys(
            Replica, (Replica.scope, Replica.name, Replica.bytes), keys,
            where=((Replica.rse_id, rse_id),))}
        declared = {(s, n) for s, n in select_by_keys(
            BadReplica, (BadReplica.scope, BadReplica.name), keys,
            where=((BadReplica.rse_id, rse_id), (BadReplica.state, "BAD")))}
        rows, bad = [], []
        for key, label in labels.items():
            if key not in sizes:
                failed.setdefault(rse.rse, []).append(f"{label} Unknown replica")
            elif state == "BAD" and key in declared:
                if force:
                    bad.append(key)
                else:
                    failed.setdefault(rse.rse, []).append(f"{label} Already declared")
            else:
                rows.append((*key, rse_id, reason, state, issuer.account, sizes[key]))
                bad.append(key)
        insert_rows(BadReplica, ["scope", "name", "rse_id", "reason", "state", "account",
                                 "bytes"], rows)
        if state == "BAD" and bad:
            set_states(rse, {"BAD": bad})
    return failed


@atomic
def declare_bad_replicas(issuer, replicas: list, reason: str | None,
                         force: bool = False) -> dict:
    """``replicas``: PFN strings or ``{"scope", "name", "rse"|"rse_id"}`` dicts, not mixed.
    Returns ``{rse: ["label error"]}`` of those not declared; a PFN no RSE protocol fits is
    ``ReplicaNotFound`` (as the real server)."""
    permissions.check(issuer, "declare_bad_replicas")
    reason = _reason(reason)
    replicas = bulk_items(replicas, "replicas")
    if not replicas:
        return {}
    if any(isinstance(item, str) != isinstance(replicas[0], str) for item in replicas):
        raise exceptions.InvalidType("The replicas must be specified either as a list of PFNs "
                                     "(strings) or list of dicts")
    catalog = RSECatalog()
    if isinstance(replicas[0], str):
        targets, failed, unmatched = _pfn_targets(catalog, replicas)
        if unmatched:
            raise exceptions.ReplicaNotFound("Not all replicas found")
    else:
        targets, failed = [], {}
        for item in replicas:
            if not isinstance(item, dict) or "scope" not in item or "name" not in item or (
                    "rse" not in item and "rse_id" not in item):
                raise exceptions.InvalidType("The replica dictionary must include scope and "
                                             "either rse (name) or rse_id")
            scope, name = did_key(item)
            if not all(isinstance(item.get(key), (str, type(None))) for key in ("rse", "rse_id")):
                raise exceptions.InvalidType("rse and rse_id must be strings")
            info = catalog.by_id.get(item.get("rse_id")) or catalog.by_name.get(item.get("rse"))
            if info is None:
                raise exceptions.RSENotFound(
                    f"RSE '{item.get('rse') or item.get('rse_id')}' cannot be found")
            targets.append((info, scope, name, f"({scope}, {name!r})"))
    for rse, errors in _declare(issuer, targets, reason, force=force).items():
        failed.setdefault(rse, []).extend(errors)
    return failed


@atomic
def declare_bad_did_replicas(issuer, rse: str, dids: list, reason: str | None) -> dict:
    """The replicas of ``dids`` on ``rse`` become BAD; returns ``{rse: ["scope:name error"]}``
    of those not declared."""
    permissions.check(issuer, "declare_bad_replicas")
    rse_row = lookup.rse(rse)
    targets = []
    for index, item in enumerate(bulk_items(dids, "dids")):
        scope, name = did_key(item, f"dids[{index}]")
        targets.append((rse_row, scope, name, did_label(scope, name)))
    return _declare(issuer, targets, _reason(reason))


@atomic
def add_bad_pfns(issuer, pfns: list, reason: str | None, state: str,
                 expires_at=None) -> None:
    """Record PFNs as BAD / SUSPICIOUS / TEMPORARY_UNAVAILABLE; BAD and TEMPORARY_UNAVAILABLE
    ones also set the state of the replica they point to."""
    permissions.check(issuer, "declare_bad_replicas")
    reason = _reason(reason)
    state = BAD_PFN_STATES.get(state, state)
    if state not in BAD_PFN_STATES.values():
        raise exceptions.InvalidObject(f"Invalid bad PFN state {state!r}")
    expires = parse_date(expires_at, "expires_at") if expires_at else None
    if state == "TEMPORARY_UNAVAILABLE" and expires is None:
        raise exceptions.InputValidationError(
            "When adding a TEMPORARY UNAVAILABLE pfn the expires_at value should be set.")
    if state == "BAD" and expires is not None:
        raise exceptions.InputValidationError(
            "When adding a BAD pfn the expires_at value shouldn't be set.")
    now = utcnow()
    if expires is not None and now <= expires and expires > now + MAX_UNAVAILABLE:
        raise exceptions.InputValidationError(
            f"The given duration of {(expires - now).days} days exceeds the maximum duration "
            "of 30 days.")
    pfns = check_type(pfns, list, "pfns")
    for pfn in pfns:
        if not isinstance(pfn, str) or "://" not in pfn:
            raise exceptions.InvalidObject(f"Invalid PFN {pfn!r}")
    insert_rows(BadPFN, ["path", "state", "reason", "account", "expires_at"],
                [(pfn, state, reason, issuer.account, expires) for pfn in pfns])
    if state != "SUSPICIOUS":
        catalog = RSECatalog()
        for pfn in pfns:
            found = catalog.replica_of(pfn)
            if found is not None:
                set_states(found.rse, {state: [(found.scope, found.name)]})
