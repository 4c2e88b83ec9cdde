"""Exceptions to the lifetime model: any account asks that DIDs outlive their end of life
(``eol_at``); root/admin approve or reject.

As the real server: the DIDs asked for are sorted into ``exceptions`` (one exception id per
scope and datatype, for the DIDs with an end of life), ``not_affected`` (no end of life) and
``unknown`` (no such DID). We keep no cut-off date or maximum extension setting: every DID
with an ``eol_at`` may be excepted, until the date asked for.
"""
from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.core.common import (check_type, did_keys, map_batches, parse_date, rfc1123,
                                       row_mapper)
from rucio_tornado.core.dids.graph import fetch_dids
from rucio_tornado.core.lookup import is_id
from rucio_tornado.models import DID, LifetimeException, new_id, utcnow

STATES = {"A": "APPROVED", "R": "REJECTED", "W": "WAITING"}
DECISIONS = ("APPROVED", "REJECTED")
FIELDS = (LifetimeException.exception_id, LifetimeException.scope, LifetimeException.name,
          LifetimeException.did_type, LifetimeException.account, LifetimeException.pattern,
          LifetimeException.comments, LifetimeException.state, LifetimeException.created_at,
          LifetimeException.expires_at)
_line = row_mapper(["id", "scope", "name", "did_type", "account", "pattern", "comments",
                    "state", "created_at", "expires_at"],
                   {"created_at": rfc1123, "expires_at": rfc1123})


def list_exceptions(issuer, exception_id=None):
    """``GET /lifetime_exceptions/`` (and ``/{id}``): the exceptions' DIDs, one line each."""
    conditions = []
    if exception_id is not None:
        if not is_id(exception_id):
            raise exceptions.LifetimeExceptionNotFound(
                f"Lifetime exception {exception_id} not found")
        conditions.append(LifetimeException.exception_id == exception_id.lower())
    query = LifetimeException.select(*FIELDS).where(*conditions) if conditions else \
        LifetimeException.select(*FIELDS)
    return map_batches(dbmod.current().iter_query(
        query, key=(LifetimeException.exception_id, LifetimeException.scope,
                    LifetimeException.name)), _line)


def get_exception(issuer, exception_id):
    """``GET /lifetime_exceptions/{id}``: LifetimeExceptionNotFound for an unknown id."""
    if not is_id(exception_id) or not LifetimeException.select().where(
            LifetimeException.exception_id == exception_id.lower()).exists():
        raise exceptions.LifetimeExceptionNotFound(f"Lifetime exception {exception_id} not found")
    return list_exceptions(issuer, exception_id)


@dbmod.atomic
def add_exception(issuer, dids, pattern=None, comments=None, expires_at=None):
    """``POST /lifetime_exceptions/``: the request of ``issuer`` for ``dids``; returns
    ``{"exceptions": {id: [dids]}, "unknown": [...], "not_affected": [...]}``."""
    keys = did_keys(dids)
    if pattern is not None:
        check_type(pattern, str, "pattern")
    comments = "" if comments is None else check_type(comments, str, "comments")
    expires = None if expires_at is None else parse_date(expires_at, "expires_at")
    permissions.check(issuer, "add_lifetime_exception")
    found = fetch_dids(keys, DID.did_type, DID.eol_at, DID.datatype)
    groups, not_affected, unknown = {}, [], []
    for scope, name in keys:
        if (scope, name) not in found:
            unknown.append({"scope": scope, "name": name, "did_type": "DATASET"})
            continue
        did_type, eol_at, datatype = found[scope, name]
        entry = {"scope": scope, "name": name, "did_type": did_type}
        if eol_at is None:
            not_affected.append(entry)
        else:
            groups.setdefault((scope, datatype), []).append(entry)
    result = {}
    now = utcnow()
    for entries in groups.values():
        exception_id = new_id()
        LifetimeException.insert_many([
            {"exception_id": exception_id, "scope": e["scope"], "name": e["name"],
             "did_type": e["did_type"], "account": issuer.account, "pattern": pattern,
             "comments": comments, "state": "WAITING", "expires_at": expires,
             "created_at": now, "updated_at": now} for e in entries]).execute()
        result[exception_id] = entries
    return {"exceptions": result, "unknown": unknown, "not_affected": not_affected}


@dbmod.atomic
def update_exception(issuer, exception_id, state):
    """``PUT /lifetime_exceptions/{id}``: approve or reject (root/admin)."""
    permissions.check(issuer, "update_lifetime_exception")
    name = STATES.get(state, state) if isinstance(state, str) else None
    if name not in DECISIONS:
        raise exceptions.UnsupportedExceptionState(
            f"A lifetime exception can only be APPROVED or REJECTED, not {state!r}")
    changed = LifetimeException.update(state=name, updated_at=utcnow()).where(
        LifetimeException.exception_id == exception_id.lower()).execute() \
        if is_id(exception_id) else 0
    if not changed:
        raise exceptions.LifetimeExceptionNotFound(f"Lifetime exception {exception_id} not found")
