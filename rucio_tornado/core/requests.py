"""Transfer requests (the ones rules queue: we never transfer), their history, metrics, and
the transfer-limits table.

A request is *current* whatever its state; the *history* is the finished ones (DONE, FAILED).
Requests have no source RSE until a transfer tool picks one: ``src_rse`` filters on the RSEs
holding an AVAILABLE replica of the file (the possible sources), and metrics count a queued
request once for each possible source.
"""
import datetime

from peewee import JOIN, SQL, fn

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import (check_type, did_key, integer, map_batches, rfc1123,
                                       validate)
from rucio_tornado.core.rses import expression
from rucio_tornado.models import (RSE, Replica, RSEAttribute, RSEDistance, Rule,
                                  TransferLimit, TransferRequest, utcnow)

#: The real server's request states (letter -> name); ours are QUEUED, DONE and FAILED.
STATES = {"Q": "QUEUED", "G": "SUBMITTING", "S": "SUBMITTED", "F": "FAILED", "D": "DONE",
          "L": "LOST", "N": "NO_SOURCES", "O": "ONLY_TAPE_SOURCES", "A": "SUBMISSION_FAILED",
          "M": "MISMATCH_SCHEME", "U": "SUSPEND", "W": "WAITING", "P": "PREPARING"}
FINISHED = ("DONE", "FAILED")
DIRECTIONS = {"D": "DESTINATION", "S": "SOURCE", "DESTINATION": "DESTINATION",
              "SOURCE": "SOURCE"}

FIELDS = (TransferRequest.id, TransferRequest.scope, TransferRequest.name,
          TransferRequest.dest_rse_id, RSE.rse, TransferRequest.state, TransferRequest.rule_id,
          TransferRequest.activity, TransferRequest.bytes,
          TransferRequest.source_replica_expression, Rule.account, Rule.priority,
          TransferRequest.created_at, TransferRequest.updated_at)


def _line(row):
    (request_id, scope, name, dest_rse_id, dest_rse, state, rule_id, activity, nbytes,
     sources, account, priority, created_at, updated_at) = row
    finished = state in FINISHED
    return {"id": request_id, "request_type": "TRANSFER", "scope": scope, "name": name,
            "did_type": "FILE", "dest_rse_id": dest_rse_id, "dest_rse": dest_rse,
            "source_rse_id": None, "source_rse": None,
            "attributes": {"activity": activity, "source_replica_expression": sources,
                           "bytes": nbytes, "priority": priority},
            "state": state, "external_id": None, "external_host": None, "retry_count": 0,
            "err_msg": None, "previous_attempt_id": None, "rule_id": rule_id,
            "activity": activity, "bytes": nbytes, "md5": None, "adler32": None,
            "dest_url": None, "submitted_at": None, "started_at": None,
            "transferred_at": rfc1123(updated_at) if state == "DONE" else None,
            "estimated_at": None, "account": account, "requested_at": rfc1123(created_at),
            "priority": priority, "transfertool": None, "created_at": rfc1123(created_at),
            "updated_at": rfc1123(updated_at), "finished": finished}


def _query(*conditions):
    return (TransferRequest.select(*FIELDS)
            .join(RSE, on=(RSE.id == TransferRequest.dest_rse_id))
            .join(Rule, JOIN.LEFT_OUTER, on=(Rule.id == TransferRequest.rule_id))
            .where(*conditions))


# -- one DID's request -------------------------------------------------------------------------
def _request_of(issuer, action, scope, name, rse, states=None):
    scope, name = did_key({"scope": scope, "name": name})
    rse_id = lookup.rse(validate("rse", rse)).id
    permissions.check(issuer, action, scope=scope, name=name, rse=rse)
    conditions = [TransferRequest.scope == scope, TransferRequest.name == name,
                  TransferRequest.dest_rse_id == rse_id]
    if states:
        conditions.append(TransferRequest.state.in_(states))
    row = (_query(*conditions).order_by(TransferRequest.created_at.desc(),
                                        TransferRequest.id).tuples().first())
    if row is None:
        raise exceptions.RequestNotFound(f"No request found for DID {scope}:{name} at RSE {rse}")
    line = _line(row)
    del line["finished"]
    return line


def get_request_by_did(issuer, scope, name, rse):
    """``GET /requests/{scope}/{name}/{rse}``: the latest request of a file to an RSE."""
    return _request_of(issuer, "get_request_by_did", scope, name, rse)


def get_request_history_by_did(issuer, scope, name, rse):
    """``GET /requests/history/{scope}/{name}/{rse}``: the latest finished one."""
    return _request_of(issuer, "get_request_history_by_did", scope, name, rse, FINISHED)


# -- listings ----------------------------------------------------------------------------------
def parse_states(text):
    """``request_states`` (``Q,D``; names accepted too) -> state names; MissingParameter
    without any, Invalid for an unknown one."""
    if not text:
        raise exceptions.MissingParameter("Request state is missing")
    names = []
    for part in text.split(","):
        part = part.strip()
        name = STATES.get(part) or (part if part in STATES.values() else None)
        if name is None:
            raise exceptions.InvalidRequestState("Request state value is invalid")
        names.append(name)
    return names


def _site_rses(site):
    rows = (RSE.select(RSE.id).join(RSEAttribute, on=(RSEAttribute.rse_id == RSE.id))
            .where(RSEAttribute.key == "site", RSEAttribute.value == f'"{site}"',
                   RSE.deleted == False).tuples())  # noqa: E712
    ids = [rse_id for (rse_id,) in rows]
    if not ids:
        raise exceptions.NotFound(f"Could not resolve site name {site} to RSE")
    return ids


def endpoints(src_rse=None, dst_rse=None, src_site=None, dst_site=None):
    """``(source RSE ids, destination RSE ids)`` from the query arguments (None: any); the
    real server's MissingParameter when only one end is given."""
    for given, other, label in ((src_rse, dst_rse, "Destination RSE"),
                                (dst_rse, src_rse, "Source RSE"),
                                (src_site, dst_site, "Destination site"),
                                (dst_site, src_site, "Source site")):
        if given and not other:
            raise exceptions.MissingParameter(f"{label} is missing")
    if src_site:
        return _site_rses(src_site), _site_rses(dst_site)
    if src_rse:
        return [lookup.rse(src_rse).id], [lookup.rse(dst_rse).id]
    return None, None


def _from_sources(src_ids):
    possible = Replica.select(SQL("1")).where(
        Replica.scope == TransferRequest.scope, Replica.name == TransferRequest.name,
        Replica.rse_id.in_(src_ids), Replica.state == "AVAILABLE")
    return fn.EXISTS(possible)


def _listing(src_ids, dst_ids, states, offset=None, limit=None):
    conditions = [TransferRequest.state.in_(states)]
    if dst_ids is not None:
        conditions += [TransferRequest.dest_rse_id.in_(dst_ids), _from_sources(src_ids)]
    query = _query(*conditions)
    if limit is None:
        return map_batches(dbmod.current().iter_query(query, key=(TransferRequest.id,)), _line)
    rows = query.order_by(TransferRequest.id).offset(offset).limit(limit).tuples()
    return [_line(row) for row in rows]


def list_requests(issuer, states, src_rse=None, dst_rse=None, src_site=None, dst_site=None):
    """``GET /requests/list``: the requests in ``states`` (see :func:`parse_states`)."""
    states = parse_states(states)
    src_ids, dst_ids = endpoints(src_rse, dst_rse, src_site, dst_site)
    permissions.check(issuer, "list_requests")
    return _listing(src_ids, dst_ids, states)


def list_requests_history(issuer, states, src_rse=None, dst_rse=None, src_site=None,
                          dst_site=None, offset=0, limit=100):
    """``GET /requests/history/list``: finished requests in ``states``, one page."""
    states = [s for s in parse_states(states) if s in FINISHED]
    src_ids, dst_ids = endpoints(src_rse, dst_rse, src_site, dst_site)
    offset, limit = _page_number(offset, "offset"), _page_number(limit, "limit")
    permissions.check(issuer, "list_requests_history")
    return _listing(src_ids, dst_ids, states, offset, limit)


def _page_number(value, label):
    """A query argument's non-negative integer (``"10"``); InvalidObject otherwise."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return integer(value, label, minimum=0)


# -- metrics -----------------------------------------------------------------------------------
def _pair_stats(conditions):
    """``(source id, destination id, activity, files, bytes)`` over the possible sources."""
    rows = (TransferRequest
            .select(Replica.rse_id, TransferRequest.dest_rse_id, TransferRequest.activity,
                    fn.COUNT(SQL("*")), fn.SUM(TransferRequest.bytes))
            .join(Replica, on=((Replica.scope == TransferRequest.scope)
                               & (Replica.name == TransferRequest.name)
                               & (Replica.state == "AVAILABLE")
                               & (Replica.rse_id != TransferRequest.dest_rse_id)))
            .where(*conditions)
            .group_by(Replica.rse_id, TransferRequest.dest_rse_id, TransferRequest.activity)
            .tuples())
    return [(src, dst, activity, int(files), int(nbytes or 0))
            for src, dst, activity, files, nbytes in rows]


def get_request_metrics(issuer, dst_rse=None, src_rse=None, activity=None,
                        group_by_rse_attribute=None):
    """``GET /requests/metrics``: per ``SRC:DST`` pair, queued files and bytes per activity,
    files done/failed in the last 1 and 6 hours, and the distance."""
    dst_id = lookup.rse(dst_rse).id if dst_rse else None
    src_id = lookup.rse(src_rse).id if src_rse else None
    permissions.check(issuer, "get_request_metrics")
    base = []
    if dst_id:
        base.append(TransferRequest.dest_rse_id == dst_id)
    if src_id:
        base.append(Replica.rse_id == src_id)
    if activity:
        base.append(TransferRequest.activity == activity)
    metrics = {}
    for src, dst, act, files, nbytes in _pair_stats(base + [TransferRequest.state == "QUEUED"]):
        entry = metrics.setdefault((src, dst), {})
        files_elem, bytes_elem = entry.setdefault("files", {}), entry.setdefault("bytes", {})
        files_elem.setdefault("queued", {})[act] = files
        files_elem["queued-total"] = files_elem.get("queued-total", 0) + files
        bytes_elem.setdefault("queued", {})[act] = nbytes
        bytes_elem["queued-total"] = bytes_elem.get("queued-total", 0) + nbytes
    now = utcnow()
    for hours in (1, 6):
        label, since = f"{hours}h", now - datetime.timedelta(hours=hours)
        for state, kind in (("DONE", "done"), ("FAILED", "failed")):
            for src, dst, act, files, nbytes in _pair_stats(
                    base + [TransferRequest.state == state, TransferRequest.updated_at >= since]):
                entry = metrics.setdefault((src, dst), {})
                for unit, value in (("files", files), ("bytes", nbytes)):
                    elem = entry.setdefault(unit, {})
                    per_activity = elem.setdefault(kind, {}).setdefault(act, {})
                    per_activity[label] = per_activity.get(label, 0) + value
                    total = f"{kind}-total-{label}"
                    elem[total] = elem.get(total, 0) + value
    if metrics:
        for row in RSEDistance.select().where(
                RSEDistance.src_rse_id.in_([s for s, _ in metrics]),
                RSEDistance.dest_rse_id.in_([d for _, d in metrics])):
            if (row.src_rse_id, row.dest_rse_id) in metrics:
                metrics[row.src_rse_id, row.dest_rse_id]["distance"] = row.distance
    return _named(metrics, group_by_rse_attribute)


def _named(metrics, attribute):
    ids = {rse_id for pair in metrics for rse_id in pair}
    names = dict(RSE.select(RSE.id, RSE.rse).where(RSE.id.in_(list(ids))).tuples()) \
        if ids else {}
    groups = {}
    if attribute:
        for rse_id, value in RSEAttribute.select(RSEAttribute.rse_id, RSEAttribute.value).where(
                RSEAttribute.rse_id.in_(list(ids)), RSEAttribute.key == attribute).tuples():
            groups[rse_id] = value.strip('"') if value else value
    response = {}
    for (src, dst), metric in metrics.items():
        metric["src_rse"], metric["dst_rse"] = names.get(src), names.get(dst)
        if attribute:
            key = f"{groups.get(src, 'UNKNOWN')}:{groups.get(dst, 'UNKNOWN')}"
        else:
            key = f"{names.get(src)}:{names.get(dst)}"
        response[key] = metric
    return response


# -- transfer limits ---------------------------------------------------------------------------
LIMIT_FIELDS = ("id", "rse_expression", "activity", "direction", "max_transfers", "volume",
                "deadline", "strategy", "transfers", "waitings", "created_at", "updated_at")


def _limit_dict(row):
    out = {key: getattr(row, key) for key in LIMIT_FIELDS}
    out["created_at"], out["updated_at"] = rfc1123(row.created_at), rfc1123(row.updated_at)
    return out


def list_transfer_limits(issuer):
    """``GET /requests/transfer_limits``."""
    permissions.check(issuer, "list_transfer_limits")
    return [_limit_dict(row) for row in TransferLimit.select().order_by(TransferLimit.id)]


def _limit_key(rse_expression, activity, direction):
    check_type(rse_expression, str, "rse_expression")
    if activity is not None:
        check_type(activity, str, "activity")
    direction = "D" if direction is None else check_type(direction, str, "direction")
    if direction.upper() not in DIRECTIONS:
        raise exceptions.InvalidObject(f"Invalid direction {direction!r}")
    return rse_expression, activity, DIRECTIONS[direction.upper()]


def _existing(rse_expression, activity, direction):
    same_activity = TransferLimit.activity.is_null() if activity is None else \
        TransferLimit.activity == activity
    return TransferLimit.get_or_none(TransferLimit.rse_expression == rse_expression,
                                     same_activity, TransferLimit.direction == direction)


def _count(value, label):
    if value is not None:
        check_type(value, int, label)
        if value < 0:
            raise exceptions.InvalidObject(f"{label} must not be negative: {value!r}")
    return value


@dbmod.atomic
def set_transfer_limit(issuer, rse_expression, max_transfers, activity=None, direction=None,
                       volume=None, deadline=None, strategy=None, transfers=None,
                       waitings=None):
    """``PUT /requests/transfer_limits``: create or update the limit of (``rse_expression``,
    ``activity``, ``direction``: ``D``/``S``). The expression must select RSEs."""
    key = _limit_key(rse_expression, activity, direction)
    values = {"max_transfers": _count(max_transfers, "max_transfers"),
              "volume": _count(volume, "volume"), "deadline": _count(deadline, "deadline"),
              "transfers": _count(transfers, "transfers"),
              "waitings": _count(waitings, "waitings"),
              "strategy": None if strategy is None else check_type(strategy, str, "strategy")}
    permissions.check(issuer, "set_transfer_limit", rse_expression=rse_expression)
    expression.resolve(rse_expression)
    row = _existing(*key)
    if row is None:
        TransferLimit.create(rse_expression=key[0], activity=key[1], direction=key[2], **values)
    else:
        TransferLimit.update(updated_at=utcnow(), **values).where(
            TransferLimit.id == row.id).execute()


@dbmod.atomic
def delete_transfer_limit(issuer, rse_expression, activity=None, direction=None):
    """``DELETE /requests/transfer_limits``: remove one limit (none there: nothing to do)."""
    key = _limit_key(rse_expression, activity, direction)
    permissions.check(issuer, "delete_transfer_limit", rse_expression=rse_expression)
    row = _existing(*key)
    if row is not None:
        row.delete_instance()
