"""Bad and suspicious replicas: the states listing, the daily summary, suspicious declarations.

Declaring replicas BAD and bad PFNs lives in :mod:`rucio_tornado.core.replicas.registration`; this module
reads the ``BadReplica`` table and adds SUSPICIOUS entries (which do not change the replica).
"""
import datetime

from rucio_tornado import exceptions
from rucio_tornado.core.bulk import insert_rows
from rucio_tornado.core.common import parse_date, rfc1123, row_mapper
from rucio_tornado.core.replicas.pfns import RSECatalog
from rucio_tornado.db import atomic, current
from rucio_tornado.models import BadReplica, utcnow

BAD_STATES = {"B": "BAD", "D": "DELETED", "L": "LOST", "R": "RECOVERED", "S": "SUSPICIOUS",
              "T": "TEMPORARY_UNAVAILABLE"}
#: Suspicious declarations counted by default: those of the last ten days (as Rucio).
SUSPICIOUS_WINDOW = datetime.timedelta(days=10)


def _state(value):
    if value is None:
        return None
    state = BAD_STATES.get(value, value.upper() if isinstance(value, str) else value)
    if state not in BAD_STATES.values():
        raise exceptions.InvalidObject(f"Invalid bad replica state {value!r}")
    return state


def _rse_names(rse_ids):
    return {info.id: info.rse for info in RSECatalog().by_id.values() if info.id in rse_ids}


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
    names = {info.id: info.rse for info in RSECatalog().by_id.values()}
    if rse is not None:
        ids = [rse_id for rse_id, name in names.items() if name == rse]
        if not ids:
            raise exceptions.RSENotFound(f"RSE '{rse}' cannot be found")
        query = query.where(BadReplica.rse_id == ids[0])
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
    rse_ids = None
    if rse_expression is not None:
        from rucio_tornado.core.rses import expression as expressions
        rse_ids = {rse["id"] for rse in expressions.resolve(rse_expression)}
        query = query.where(BadReplica.rse_id.in_(list(rse_ids) or [""]))
    groups = {}
    for batch in current().iter_query(query, key=(BadReplica.id,)):
        for _, rse_id, reason, state, created_at in batch:
            day = str(created_at)[:10]
            counts = groups.setdefault((rse_id, day, reason), {})
            counts[state] = counts.get(state, 0) + 1
    names = _rse_names({rse_id for rse_id, _, _ in groups})
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
    not changed). Returns ``{rse or "unknown": [pfn, ...]}`` of the PFNs not declared."""
    from rucio_tornado.core.replicas.registration import _replica_of_pfn
    if not isinstance(pfns, list):
        raise exceptions.InvalidJSONType("pfns must be a list")
    if reason is not None and not isinstance(reason, str):
        raise exceptions.InvalidObject("'reason' must be a string")
    catalog = RSECatalog()
    rows, failed = [], {}
    for pfn in pfns:
        if not isinstance(pfn, str):
            raise exceptions.InvalidObject(f"Invalid PFN {pfn!r}")
        found = _replica_of_pfn(catalog, pfn)
        if found is None:
            failed.setdefault("unknown", []).append(pfn)
            continue
        info, scope, name = found
        rows.append((scope, name, info.id, reason, "SUSPICIOUS", issuer.account))
    insert_rows(BadReplica, ["scope", "name", "rse_id", "reason", "state", "account"], rows)
    return failed


def list_suspicious_replicas(issuer, rse_expression=None, younger_than=None, nattempts=None):
    """``GET /replicas/suspicious``: ``[{scope, name, rse, rse_id, cnt, created_at}]`` of the
    replicas declared SUSPICIOUS more than ``nattempts`` times since ``younger_than``
    (default: the last ten days)."""
    since = parse_date(younger_than, "younger_than") if younger_than else \
        utcnow() - SUSPICIOUS_WINDOW
    minimum = _int(nattempts, "nattempts") or 0
    query = BadReplica.select(BadReplica.id, BadReplica.scope, BadReplica.name,
                              BadReplica.rse_id, BadReplica.created_at).where(
        BadReplica.state == "SUSPICIOUS", BadReplica.created_at >= since)
    if rse_expression is not None:
        from rucio_tornado.core.rses import expression as expressions
        rse_ids = [rse["id"] for rse in expressions.resolve(rse_expression)]
        query = query.where(BadReplica.rse_id.in_(rse_ids or [""]))
    found = {}
    for batch in current().iter_query(query, key=(BadReplica.id,)):
        for _, scope, name, rse_id, created_at in batch:
            count, latest = found.get((scope, name, rse_id), (0, created_at))
            found[(scope, name, rse_id)] = (count + 1, max(latest, created_at))
    names = _rse_names({rse_id for _, _, rse_id in found})
    return [{"scope": scope, "name": name, "rse": names.get(rse_id), "rse_id": rse_id,
             "cnt": count, "created_at": rfc1123(latest)}
            for (scope, name, rse_id), (count, latest) in sorted(found.items())
            if count > minimum]
