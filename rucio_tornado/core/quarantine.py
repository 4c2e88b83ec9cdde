"""``POST /replicas/quarantine``: files an RSE holds that the catalog has no replica of.

As the real server: the RSE is named by ``rse`` or by ``rse_id`` (exactly one); each item needs
a ``path`` (``scope``, ``name``, ``bytes``, ``md5``, ``adler32`` optional). Items whose
``(scope, name)`` has a replica on that RSE are skipped (a safeguard against auditor mistakes),
and so are paths already quarantined there; root/admin only. One transaction: a bad item
quarantines nothing.
"""
from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.bulk import insert_rows, select_by_keys
from rucio_tornado.core.common import bulk_items, check_type, did_key, integer
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import RSE, QuarantinedReplica, Replica

_KEYS = ("path", "scope", "name", "bytes", "md5", "adler32")
_CHECKSUM_LENGTH = {"md5": 32, "adler32": 8}


def _rse_row(rse, rse_id):
    if (rse is None) == (rse_id is None):
        raise exceptions.InputValidationError(
            "Either RSE name or RSE id must be specified, but not both")
    if rse is not None:
        return lookup.rse(rse)
    row = RSE.get_or_none((RSE.id == rse_id) & (RSE.deleted == False)) \
        if isinstance(rse_id, str) else None  # noqa: E712
    if row is None:
        raise exceptions.RSENotFound(f"RSE with id '{rse_id}' cannot be found")
    return row


def _checked(item, index):
    label = f"replicas[{index}]"
    check_type(item, dict, label)
    path = item.get("path")
    if not isinstance(path, str) or not path or len(path) > 1024:
        raise exceptions.InputValidationError(f"{label}: replica info must include path")
    scope, name = item.get("scope"), item.get("name")
    if scope is not None or name is not None:
        scope, name = did_key({"scope": scope, "name": name}, label)
    size = item.get("bytes")
    if size is not None:
        integer(size, f"{label}.bytes", minimum=0)
    row = {"path": path, "scope": scope, "name": name, "bytes": size}
    for key, length in _CHECKSUM_LENGTH.items():
        value = item.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > length):
            raise exceptions.InputValidationError(f"{label}: invalid {key} {value!r}")
        row[key] = value
    return row


@atomic
def quarantine_replicas(issuer: Issuer, replicas: list, rse: str | None = None,
                        rse_id: str | None = None) -> None:
    """Add the quarantined replicas of one RSE (see the module's docstring)."""
    bulk_items(replicas, "replicas")
    if not replicas:
        return
    rse_row = _rse_row(rse, rse_id)
    permissions.check(issuer, "quarantine_file_replicas")
    items = {}
    for index, item in enumerate(replicas):
        row = _checked(item, index)
        items.setdefault(row["path"], row)
    keys = list({(r["scope"], r["name"]) for r in items.values() if r["scope"] is not None})
    registered = {(s, n) for s, n in select_by_keys(
        Replica, (Replica.scope, Replica.name), keys, where=((Replica.rse_id, rse_row.id),))} \
        if keys else set()
    quarantined = set(QuarantinedReplica.select(QuarantinedReplica.path).where(
        QuarantinedReplica.rse_id == rse_row.id,
        QuarantinedReplica.path.in_(list(items))).tuples())
    quarantined = {path for (path,) in quarantined}
    rows = [(rse_row.id,) + tuple(row[key] for key in _KEYS) for row in items.values()
            if row["path"] not in quarantined and (row["scope"], row["name"]) not in registered]
    insert_rows(QuarantinedReplica, ["rse_id", *_KEYS], rows)


def list_quarantined_replicas(rse_id: str) -> list[dict]:
    """The quarantined replicas of one RSE (for the tests and the operators' tools)."""
    return [{"path": p, "scope": s, "name": n, "bytes": b}
            for p, s, n, b in QuarantinedReplica.select(
                QuarantinedReplica.path, QuarantinedReplica.scope, QuarantinedReplica.name,
                QuarantinedReplica.bytes).where(QuarantinedReplica.rse_id == rse_id)
            .order_by(QuarantinedReplica.path).tuples()]
