"""The smaller DID operations of the real API: new DIDs, resurrection, samples, followers.

- :func:`list_new_dids`: DIDs not yet seen by the subscription evaluator (``is_new``) and with
  no rule still being injected, at most ``chunk_size`` of them (``GET /dids/new``).
- :func:`resurrect`: a deleted DID (``deleted_at`` set) comes back; a live DID whose lifetime
  has run out loses its expiry (``POST /dids/resurrect``).
- :func:`create_did_sample`: a new dataset holding ``nbfiles`` files picked at random among
  the files of an input DID (``POST /dids/sample`` and the legacy path form).
- followers: :func:`add_did_to_followed`, :func:`get_users_following_did`,
  :func:`remove_did_from_followed` (``/dids/{scope}/{name}/follow``).

Built on :mod:`catalog` (creation, attach, file listing) and :mod:`graph`; imports no other
DID module.
"""
import random
from collections.abc import Iterator

import peewee as pw

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import bulk_items, did_key, did_label, integer, validate
from rucio_tornado.core.dids import catalog
from rucio_tornado.core.dids.graph import check_scope_permission
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, DIDFollower, Rule, utcnow

#: The DID types ``GET /dids/new?type=`` filters on.
NEW_DID_TYPES = ("FILE", "DATASET", "CONTAINER")
#: At most this many DIDs per ``GET /dids/new`` (Rucio's ``chunk_size``).
NEW_DIDS_CHUNK = 1000


# -- new DIDs ------------------------------------------------------------------------------------
def list_new_dids(issuer: Issuer, did_type: str | None = None,
                  chunk_size: int = NEW_DIDS_CHUNK) -> list[dict]:
    """``[{"scope", "name", "did_type"}]`` of up to ``chunk_size`` new DIDs (of ``did_type``)
    that no rule in state INJECT is still being created for."""
    query = DID.select(DID.scope, DID.name, DID.did_type).where(DID.is_new == True)  # noqa: E712
    if did_type:
        kind = did_type.upper() if isinstance(did_type, str) else None
        if kind not in NEW_DID_TYPES:
            raise exceptions.InvalidObject(f"Invalid DID type {did_type!r}: one of "
                                           f"{', '.join(NEW_DID_TYPES)}")
        query = query.where(DID.did_type == kind)
    injecting = Rule.select(pw.SQL("1")).where(Rule.scope == DID.scope, Rule.name == DID.name,
                                               Rule.state == "INJECT")
    query = query.where(~pw.fn.EXISTS(injecting))
    query = query.order_by(DID.scope, DID.name).limit(integer(chunk_size, "chunk_size", 1))
    return [{"scope": s, "name": n, "did_type": t} for s, n, t in query.tuples()]


# -- resurrection --------------------------------------------------------------------------------
@atomic
def resurrect(issuer: Issuer, dids: list) -> None:
    """Bring back each DID of ``dids``: a deleted one is live again (without expiry), an
    expired one loses its expiry. A DID that is neither is DataIdentifierNotFound, and nothing
    changes."""
    permissions.check(issuer, "resurrect")
    bulk_items(dids, "body")
    keys = [did_key(item, f"dids[{index}]") for index, item in enumerate(dids)]
    now = utcnow()
    for scope, name in dict.fromkeys(keys):
        row = DID.get_or_none(DID.scope == scope, DID.name == name)
        deleted = row is not None and row.deleted_at is not None
        expired = row is not None and row.expired_at is not None and row.expired_at < now
        if not (deleted or expired):
            raise exceptions.DataIdentifierNotFound(
                f"Deleted Data identifier '{did_label(scope, name)}' not found")
        DID.update(deleted_at=None, expired_at=None, updated_at=now).where(
            DID.scope == scope, DID.name == name).execute()


# -- samples -------------------------------------------------------------------------------------
def _count(value, label="nbfiles"):
    """A file count: a JSON integer, or a string of digits (the path form, Rucio's ``str``)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return integer(value, label, minimum=0)


def _sample(batches, size: int, rng: random.Random) -> list[tuple[str, str]]:
    """``size`` distinct (scope, name) picked uniformly from the file batches (reservoir)."""
    seen, picked = set(), []
    for batch in batches:
        for line in batch:
            key = (line["scope"], line["name"])
            if key in seen:             # a file in two datasets of a container counts once
                continue
            seen.add(key)
            if len(picked) < size:
                picked.append(key)
            else:
                slot = rng.randrange(len(seen))
                if slot < size:
                    picked[slot] = key
    return picked


@atomic
def create_did_sample(issuer: Issuer, input_scope: str, input_name: str, output_scope: str,
                      output_name: str, nbfiles: int | str,
                      rng: random.Random | None = None) -> None:
    """A new open dataset ``output_scope:output_name`` of the issuer holding ``nbfiles`` files
    picked at random among the files of ``input_scope:input_name`` (all of them if it has
    fewer). The output scope's owner, root/admin, or anyone in scope mock may."""
    validate("scope", input_scope)
    validate("name", input_name)
    validate("scope", output_scope)
    validate("name", output_name)
    count = _count(nbfiles)
    check_scope_permission(issuer, "create_did_sample", [output_scope])
    files = _sample(catalog.list_files(issuer, input_scope, input_name), count,
                    rng or random.Random())
    catalog.add_did(issuer, output_scope, output_name, "DATASET")
    if files:
        catalog.attach_dids(issuer, output_scope, output_name,
                            [{"scope": s, "name": n} for s, n in files])


# -- followers -----------------------------------------------------------------------------------
def _follow_target(issuer, action, scope, name, account):
    validate("account", account)
    row = lookup.did(scope, name, DID.scope, DID.name, DID.did_type)
    permissions.check(issuer, action, account=account, scope=scope)
    lookup.account(account, active_only=True)
    return row


@atomic
def add_did_to_followed(issuer: Issuer, scope: str, name: str, account: str) -> None:
    """``account`` follows the DID (an account for itself; root/admin for any account)."""
    row = _follow_target(issuer, "add_did_to_followed", scope, name, account)
    if DIDFollower.get_or_none(scope=scope, name=name, account=account) is not None:
        raise exceptions.Duplicate(
            f"Account {account} already follows '{did_label(scope, name)}'")
    DIDFollower.insert(scope=scope, name=name, account=account, did_type=row.did_type).execute()


def get_users_following_did(issuer: Issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """``[{"user": account}]`` of the accounts following the DID, by account name."""
    lookup.did(scope, name, DID.scope)
    query = DIDFollower.select(DIDFollower.account).where(
        DIDFollower.scope == scope, DIDFollower.name == name).order_by(DIDFollower.account)
    return [{"user": account} for (account,) in query.tuples()]


@atomic
def remove_did_from_followed(issuer: Issuer, scope: str, name: str, account: str) -> None:
    """``account`` no longer follows the DID (nothing to do if it did not)."""
    validate("account", account)
    lookup.did(scope, name, DID.scope)
    permissions.check(issuer, "remove_did_from_followed", account=account, scope=scope)
    DIDFollower.delete().where(DIDFollower.scope == scope, DIDFollower.name == name,
                               DIDFollower.account == account).execute()
