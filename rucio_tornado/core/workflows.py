"""Operations that span several resources in one transaction.

A client may create a collection together with its content and its rules, and attach files
while registering their replicas on an RSE. Each resource module does only its own part (the
DID catalog knows nothing of replicas or rules); the compositions live here, each one
``@atomic``, so one bad part rolls the whole request back.
"""
from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.dids import catalog
from rucio_tornado.core.dids import meta as did_meta
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.replicas.registration import add_replicas
from rucio_tornado.core.rules.lifecycle import add_rules
from rucio_tornado.db import atomic

#: The keys of a new DID that this module handles: its content (``dids``, with replicas on
#: ``rse``) and its ``rules``.
FOLLOW_UP_KEYS = ("dids", "rules", "rse")
#: The keys of an attached file passed on to replica registration.
REPLICA_FILE_KEYS = ("scope", "name", "bytes", "adler32", "md5", "meta", "pfn")


@atomic
def add_did(issuer: Issuer, scope: str, name: str, did_type: str, statuses: dict | None = None,
            meta: dict | None = None, rules: list | None = None,
            lifetime: int | float | str | None = None, dids: list | None = None,
            rse: str | None = None) -> None:
    """``POST /dids/{scope}/{name}``: one collection, then its content, then its rules."""
    _add_dids(issuer, [{"scope": scope, "name": name, "type": did_type, "statuses": statuses,
                        "meta": meta, "rules": rules, "lifetime": lifetime, "dids": dids,
                        "rse": rse}], _check_new_dataset)


def _check_follow_ups(item, label):
    """The RSE named for a new collection's replicas must exist, content or not."""
    if item.get("rse") is not None:
        lookup.rse(item["rse"])


def _check_new_dataset(item, label):
    """``add_did`` of one collection: Rucio's metadata convention check, then the RSE."""
    did_meta.validate_dataset_meta(item["type"], item.get("meta"))
    _check_follow_ups(item, label)


@atomic
def add_dids(issuer: Issuer, items: list) -> None:
    """``POST /dids``: create the collections, then attach each one's content (registering
    the replicas on its ``rse``), then add its rules; all or nothing."""
    _add_dids(issuer, items, _check_follow_ups)


def _add_dids(issuer, items, check):
    catalog.add_dids(issuer, items, extra_keys=FOLLOW_UP_KEYS, check_extra=check)
    for item in items:
        scope, name = item["scope"], item["name"]
        if item.get("dids"):
            attach_dids(issuer, scope, name, item["dids"], rse=item.get("rse"))
        if item.get("rules"):
            _add_rules(issuer, scope, name, item["rules"])


def _add_rules(issuer, scope, name, rules):
    """The rules given with a new collection, each on that collection, owned by the issuer
    unless it names an account."""
    if not isinstance(rules, list):
        raise exceptions.InvalidObject("'rules' must be a list")
    for rule in rules:
        if not isinstance(rule, dict):
            raise exceptions.InvalidObject("every rule must be a dictionary")
        body = dict(rule, dids=[{"scope": scope, "name": name}])
        body.setdefault("account", issuer.account)
        add_rules(issuer, body)


@atomic
def attach_dids(issuer: Issuer, scope: str, name: str, dids: list, rse: str | None = None) -> None:
    """``POST /dids/{scope}/{name}/dids``: attach ``dids``, registered first as replicas on
    ``rse`` when it is given."""
    attach_dids_to_dids(issuer, [{"scope": scope, "name": name, "dids": dids, "rse": rse}])


@atomic
def attach_dids_to_dids(issuer: Issuer, attachments: list, ignore_duplicate: bool = False) -> None:
    """``POST /dids/attachments``: several attachments; an attachment with an ``rse``
    registers its files' replicas there (creating the FILE DIDs) before attaching them."""
    for attachment, parent_type, keys in catalog.checked_attachments(issuer, attachments,
                                                                     ignore_duplicate):
        rse = attachment.get("rse")
        if rse is not None:
            if parent_type != "DATASET":
                raise exceptions.UnsupportedOperation(
                    f"{attachment['scope']}:{attachment['name']}: files with 'rse' go into "
                    "datasets only")
            files = [{k: v for k, v in child.items() if k in REPLICA_FILE_KEYS}
                     for child in attachment["dids"]]
            add_replicas(issuer, rse, files, ignore_availability=True)
        catalog.attach_children(attachment, parent_type, keys, ignore_duplicate, issuer.account)
