"""``POST /dirac/addfiles``: DIRAC's RucioFileCatalog registers files with their hierarchy.

For each new file (``lfn``, ``rse``, ``bytes``, ``adler32``, optional ``guid``, ``pfn``,
``meta``), as the real server's ``core/dirac.py``: the FILE and its replica on ``rse``, a rule
on the file for ``rse`` (lifetime: config ``dirac.file_lifetime``), the parent DATASET when it
is missing (with a rule ``ANY=true``, grouping NONE, lifetime from the JSON config
``dirac.lifetime`` ``{scope or regex: seconds}``; for an existing dataset, that lifetime is set
again on the account's ``ANY=true`` rule), the missing parent CONTAINERs, and then all the
attachments. Files that exist already are skipped. ``parents_metadata`` ``{name: meta}`` is the
metadata of the collections created. Everything in one transaction.

Names are DIRAC LFNs (``/vo/scope/.../dataset/file``): the scope of a name is its second part
(the first for ``/vo``) as the real server's ``dirac`` scope extraction; an ``lfn`` may also be
written ``scope:name``. Differences on purpose: the topmost missing container is created
without a parent (the real server fails with an IndexError), and an LFN without a dataset and
a container above it is a 400 ``InvalidPath``.
"""
import json
import re

from rucio_tornado import exceptions
from rucio_tornado.core import config_table, lookup, permissions, workflows
from rucio_tornado.core.common import check_type, to_bool
from rucio_tornado.core.dids.graph import check_scope_permission
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.replicas.registration import add_replicas
from rucio_tornado.core.rules.lifecycle import add_rules, update_rule
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, Rule

#: The keys of one ``lfns`` item.
LFN_KEYS = ("lfn", "rse", "bytes", "adler32", "md5", "guid", "pfn", "meta")
DATASET_RULE_EXPRESSION = "ANY=true"


def scope_of(name: str) -> str:
    """The scope of a DIRAC name: its second part, or its first for ``/vo``."""
    parts = name.rstrip("/").split("/")
    return parts[2] if len(parts) > 2 else parts[-1]


def split_lfn(lfn) -> tuple[str, str]:
    """``(scope, name)`` of an ``lfn``: ``scope:name`` or a DIRAC path."""
    if not isinstance(lfn, str) or not lfn:
        raise exceptions.InvalidPath(f"Invalid LFN {lfn!r}")
    if ":" in lfn:
        scope, _, name = lfn.partition(":")
        if not scope or not name or ":" in name:
            raise exceptions.InvalidPath(f"Cannot extract scope and name from DID {lfn}")
        return scope, name
    return scope_of(lfn), lfn


def parents_of(name: str) -> list[str]:
    """The collections above a hierarchical name, nearest first (the dataset, then the
    containers up to ``/vo``)."""
    parts = name.split("/")
    return ["/".join(parts[:end]) for end in range(len(parts) - 1, 1, -1)]


def _lifetimes():
    raw = config_table.value("dirac", "lifetime", "{}")
    try:
        config = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise exceptions.InvalidType(
            f"Problem parsing lifetime option in dirac section : {exc}") from None
    if not isinstance(config, dict):
        raise exceptions.InvalidType("Problem parsing lifetime option in dirac section")
    file_lifetime = config_table.value("dirac", "file_lifetime")
    if file_lifetime is not None:
        try:
            file_lifetime = float(file_lifetime)
        except (TypeError, ValueError):
            raise exceptions.InvalidType(
                "Problem parsing file_lifetime option in dirac section") from None
    return config, file_lifetime


def _dataset_lifetime(config, scope):
    if scope in config:
        return config[scope]
    for pattern, lifetime in config.items():
        try:
            if re.match(pattern, scope):
                return lifetime
        except re.error:
            continue
    return None


def _did_type(scope, name):
    return DID.select(DID.did_type).where(DID.scope == scope, DID.name == name).scalar()


def _checked_items(lfns):
    check_type(lfns, list, "lfns")
    items = []
    for index, item in enumerate(lfns):
        check_type(item, dict, f"lfns[{index}]")
        unknown = sorted(set(item) - set(LFN_KEYS) - {"rse_id"})
        if unknown:
            raise exceptions.InvalidObject(f"lfns[{index}]: unknown key(s) {', '.join(unknown)}")
        scope, name = split_lfn(item.get("lfn"))
        if not isinstance(item.get("rse"), str):
            raise exceptions.InvalidType(f"lfns[{index}]: Missing rse")
        if len(parents_of(name)) < 2:
            raise exceptions.InvalidPath(
                f"LFN {item['lfn']} needs a dataset and a container above it")
        meta = check_type(item.get("meta") or {}, dict, f"lfns[{index}].meta")
        items.append((scope, name, item, meta))
    return items


@atomic
def add_files(issuer: Issuer, lfns: list, ignore_availability: bool = False,
              parents_metadata: dict | None = None) -> None:
    """Register DIRAC files with their datasets and containers (the module's docstring)."""
    items = _checked_items(lfns)
    ignore_availability = to_bool(ignore_availability, "ignore_availability")
    parents_metadata = check_type(parents_metadata or {}, dict, "parents_metadata")
    for rse in dict.fromkeys(item["rse"] for _, _, item, _ in items):
        lookup.rse(rse)
        permissions.check(issuer, "add_replicas", rse=rse)
    if not permissions.has_permission(issuer, "skip_availability_check"):
        ignore_availability = False
    check_scope_permission(issuer, "add_did", [scope for scope, _, _, _ in items])
    lifetimes, file_lifetime = _lifetimes()
    attachments, extended = [], set()
    for scope, name, item, meta in items:
        if _did_type(scope, name) is not None:
            continue
        parents = parents_of(name)
        dataset = parents[0]
        dataset_scope = scope_of(dataset)
        lifetime = _dataset_lifetime(lifetimes, dataset_scope)
        existing = _did_type(dataset_scope, dataset)
        if existing == "CONTAINER":
            raise exceptions.DiracUnsupportedOperation(f"Cannot create {dataset} as dataset")
        if existing is None:
            rule = {"copies": 1, "rse_expression": DATASET_RULE_EXPRESSION, "grouping": "NONE",
                    "account": issuer.account, "lifetime": lifetime}
            workflows.add_did(issuer, dataset_scope, dataset, "DATASET",
                              meta=parents_metadata.get(dataset) or None, rules=[rule])
            attachments.append(_attachment(parents[1], dataset_scope, dataset))
            extended.add((dataset_scope, dataset))
        if lifetime and (dataset_scope, dataset) not in extended:
            _extend_dataset_rule(issuer, dataset_scope, dataset, lifetime)
            extended.add((dataset_scope, dataset))
        _register_file(issuer, scope, name, item, meta, ignore_availability, file_lifetime)
        attachments.append(_attachment(dataset, scope, name))
        for index, parent in enumerate(parents[1:], start=1):
            existing = _did_type(scope_of(parent), parent)
            if existing == "DATASET":
                raise exceptions.DiracUnsupportedOperation(f"Cannot create {parent} as container")
            if existing is None:
                workflows.add_did(issuer, scope_of(parent), parent, "CONTAINER",
                                  meta=parents_metadata.get(parent) or None)
                if index + 1 < len(parents):
                    attachments.append(_attachment(parents[index + 1], scope_of(parent), parent))
    if attachments:
        workflows.attach_dids_to_dids(issuer, attachments, ignore_duplicate=True)


def _attachment(parent, child_scope, child):
    return {"scope": scope_of(parent), "name": parent,
            "dids": [{"scope": child_scope, "name": child}]}


def _register_file(issuer, scope, name, item, meta, ignore_availability, file_lifetime):
    meta = dict(meta)
    if item.get("guid"):
        meta["guid"] = item["guid"]
    file = {"scope": scope, "name": name, "bytes": item.get("bytes"),
            "adler32": item.get("adler32"), "meta": meta}
    if item.get("md5") is not None:
        file["md5"] = item["md5"]
    if item.get("pfn"):
        file["pfn"] = str(item["pfn"])
    add_replicas(issuer, item["rse"], [file], ignore_availability=ignore_availability)
    add_rules(issuer, {"dids": [{"scope": scope, "name": name}], "account": issuer.account,
                       "copies": 1, "rse_expression": item["rse"], "lifetime": file_lifetime})


def _extend_dataset_rule(issuer, scope, name, lifetime):
    rule_id = Rule.select(Rule.id).where(
        Rule.scope == scope, Rule.name == name, Rule.account == issuer.account,
        Rule.rse_expression == DATASET_RULE_EXPRESSION).order_by(Rule.created_at).scalar()
    if rule_id is not None:
        update_rule(issuer, rule_id, {"lifetime": lifetime})
