"""Listing dataset locks (the rules package creates and removes them): by DID, by RSE, and for
a list of datasets and containers (containers expanded to their datasets).

Lines are those of the real server: ``rse_id``, ``rse``, ``scope``, ``name``, ``rule_id``,
``account``, ``state``, ``length``, ``bytes``, ``accessed_at`` (we keep no access time of a
dataset lock: always null).
"""
from peewee import SQL

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.common import bulk_items, did_key, map_batches, row_mapper, validate
from rucio_tornado.core.dids.graph import datasets_under, fetch_dids
from rucio_tornado.models import DID, RSE, DatasetLock

FIELDS = (DatasetLock.rse_id, RSE.rse, DatasetLock.scope, DatasetLock.name, DatasetLock.rule_id,
          DatasetLock.account, DatasetLock.state, DatasetLock.length, DatasetLock.bytes,
          SQL("NULL"))
KEY = (DatasetLock.scope, DatasetLock.name, DatasetLock.rse_id, DatasetLock.rule_id)
_line = row_mapper(["rse_id", "rse", "scope", "name", "rule_id", "account", "state", "length",
                    "bytes", "accessed_at"])
DID_TYPES = {"dataset": "DATASET", "container": "CONTAINER"}


def _locks(*conditions):
    query = (DatasetLock.select(*FIELDS).join(RSE, on=(RSE.id == DatasetLock.rse_id))
             .where(*conditions))
    return map_batches(dbmod.current().iter_query(query, key=KEY), _line)


def check_did_type(did_type):
    """The listings answer dataset locks only (``?did_type=dataset``, as the client sends)."""
    if did_type != "dataset":
        raise exceptions.InvalidValue("Wrong did_type specified")


def dataset_locks(issuer, scope, name):
    """``GET /locks/{scope}/{name}?did_type=dataset``: the locks of one dataset."""
    scope, name = did_key({"scope": scope, "name": name})
    return _locks(DatasetLock.scope == scope, DatasetLock.name == name)


def dataset_locks_by_rse(issuer, rse):
    """``GET /locks/{rse}?did_type=dataset``: every dataset lock on an RSE; RSENotFound."""
    validate("rse", rse)
    row = lookup.rse(rse)
    return _locks(DatasetLock.rse_id == row.id)


def _requested(dids):
    """``[(scope, name, TYPE or None)]`` of the body's ``dids``, checked."""
    bulk_items(dids, "dids")
    out = []
    for index, item in enumerate(dids):
        scope, name = did_key(item, f"dids[{index}]")
        kind = item.get("type")
        if kind is not None:
            if not isinstance(kind, str) or kind.lower() not in DID_TYPES:
                raise exceptions.InvalidValue(f"Unknown DID type {kind!r}")
            kind = DID_TYPES[kind.lower()]
        out.append((scope, name, kind))
    return out


def locks_for_dids(issuer, dids):
    """``POST /locks/bulk_locks_for_dids``: the locks of the datasets given and of the datasets
    inside the containers given, each lock once; unknown DIDs are skipped, files refused."""
    requested = _requested(dids)
    types = {key: values[0] for key, values in
             fetch_dids([(s, n) for s, n, _ in requested], DID.did_type).items()}
    datasets = []
    for scope, name, _ in requested:
        kind = types.get((scope, name))
        if kind is None:
            continue
        if kind not in ("DATASET", "CONTAINER"):
            raise exceptions.InvalidValue("Can only get locks for datasets and containers.")
        datasets += datasets_under(scope, name, kind)
    datasets = list(dict.fromkeys(datasets))
    return _bulk(datasets)


def _bulk(datasets):
    for scope, name in datasets:
        yield from _locks(DatasetLock.scope == scope, DatasetLock.name == name)
