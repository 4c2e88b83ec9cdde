"""Dataset replicas, computed on the fly from file replicas (API.md §5 allows it).

A dataset "is on" every RSE holding at least one of its files, and on every RSE where a rule
placed it (a stored ``CollectionReplica``: an empty dataset has one there); ``length``/``bytes``
are the dataset's, ``available_*`` count its AVAILABLE file replicas there.
"""
import peewee
from peewee import fn

from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.bulk import lookup as rows_by_keys
from rucio_tornado.core.common import did_keys, rfc1123
from rucio_tornado.core.replicas.listing import datasets_of, did_type_map
from rucio_tornado.core.replicas.pfns import rse_names
from rucio_tornado.db import current
from rucio_tornado.models import DID, CollectionReplica, Content, Replica

_AVAILABLE = Replica.state == "AVAILABLE"
#: Per-RSE aggregate columns over a dataset's file replicas.
AGGREGATES = (fn.SUM(peewee.Case(None, [(_AVAILABLE, 1)], 0)),
              fn.SUM(peewee.Case(None, [(_AVAILABLE, Replica.bytes)], 0)),
              fn.MIN(Replica.created_at), fn.MAX(Replica.updated_at), fn.MAX(Replica.accessed_at))


def _totals(keys):
    """``{(scope, name): (length, bytes)}`` of datasets, from their attached files."""
    return {(s, n): (length, size or 0) for s, n, length, size in rows_by_keys(
        lambda scope, names: Content.select(Content.scope, Content.name, fn.COUNT(1),
                                            fn.SUM(DID.bytes))
        .join(DID, on=(DID.scope == Content.child_scope) & (DID.name == Content.child_name))
        .where(Content.scope == scope, Content.name.in_(names), Content.child_type == "FILE")
        .group_by(Content.scope, Content.name), keys)}


def _line(scope, name, rse_id, rse, totals, available_length, available_bytes, created,
          updated, accessed):
    length, size = totals
    available_length = int(available_length or 0)
    return {"scope": scope, "name": name, "rse_id": rse_id, "rse": rse, "bytes": size,
            "length": length, "available_bytes": int(available_bytes or 0),
            "available_length": available_length,
            "state": "AVAILABLE" if available_length >= length else "UNAVAILABLE",
            "created_at": rfc1123(created), "updated_at": rfc1123(updated),
            "accessed_at": rfc1123(accessed)}


def _dataset_lines(datasets, rses):
    for scope, name in datasets:
        totals = _totals([(scope, name)]).get((scope, name), (0, 0))
        rows = (Replica.select(Replica.rse_id, *AGGREGATES)
                .join(Content, on=(Content.child_scope == Replica.scope) &
                      (Content.child_name == Replica.name))
                .where(Content.scope == scope, Content.name == name,
                       Content.child_type == "FILE")
                .group_by(Replica.rse_id).order_by(Replica.rse_id).tuples())
        lines = [_line(scope, name, rse_id, rses[rse_id], totals, *rest)
                 for rse_id, *rest in rows if rse_id in rses]
        lines += _placed_lines(scope, name, rses, totals, {line["rse_id"] for line in lines})
        if lines:
            yield sorted(lines, key=lambda line: line["rse_id"])


def _placed_lines(scope, name, rses, totals, listed):
    """Dataset replicas a rule placed where no file replica is yet (an empty dataset, or
    files still to come): the stored ``CollectionReplica`` rows, as the real server lists them."""
    rows = (CollectionReplica.select(CollectionReplica.rse_id, CollectionReplica.state,
                                     CollectionReplica.created_at, CollectionReplica.updated_at,
                                     CollectionReplica.accessed_at)
            .where(CollectionReplica.scope == scope, CollectionReplica.name == name).tuples())
    return [dict(_line(scope, name, rse_id, rses[rse_id], totals, 0, 0, *dates), state=state)
            for rse_id, state, *dates in rows if rse_id in rses and rse_id not in listed]


def list_dataset_replicas(issuer, scope: str, name: str, deep: bool = False):
    """Replicas of a dataset (a container: of each of its datasets). 404 if unknown."""
    did_type = lookup.did(scope, name, DID.did_type).did_type
    if did_type == "FILE":
        return []
    return _dataset_lines(datasets_of([(scope, name, did_type)]), rse_names())


def list_dataset_replicas_bulk(issuer, dids: list):
    """``POST /replicas/datasets_bulk``: the replicas of each dataset among ``dids``
    (containers expanded; files and unknown DIDs skipped)."""
    keys = did_keys(dids)
    if not keys:
        raise exceptions.InvalidObject("'dids' must not be empty")
    types = did_type_map(keys)
    collections = [k + (types[k],) for k in keys if types.get(k) in ("DATASET", "CONTAINER")]
    return _dataset_lines(datasets_of(collections), rse_names())


def list_datasets_per_rse(issuer, rse: str):
    """Every dataset with at least one file replica on ``rse``, streamed by (scope, name)."""
    rse_row = lookup.rse(rse)
    query = (Content.select(Content.scope, Content.name, *AGGREGATES)
             .join(Replica, on=(Replica.scope == Content.child_scope) &
                   (Replica.name == Content.child_name))
             .where(Replica.rse_id == rse_row.id, Content.did_type == "DATASET",
                    Content.child_type == "FILE")
             .group_by(Content.scope, Content.name))
    batches = current().iter_query(query, key=(Content.scope, Content.name))
    return _per_rse_lines(batches, rse_row)


def _per_rse_lines(batches, rse_row):
    try:
        for rows in batches:
            totals = _totals([(s, n) for s, n, *_ in rows])
            yield [_line(s, n, rse_row.id, rse_row.rse, totals.get((s, n), (0, 0)), *rest)
                   for s, n, *rest in rows]
    finally:
        batches.close()
