"""The opendata catalog (``/opendata/dids``, ``/opendata/public/dids``), as the real server's
``core/opendata.py``: existing DIDs entered as ``draft``, made ``public`` (a collection must be
closed first) or ``suspended``, with a JSON ``meta`` object, a ``doi`` and a ``record_id``
(each unique over the catalog). Writes are root/admin's; the listings are open to every
account, and their public variants (state ``public`` only) need no token at all.

Rules: ``draft`` only while it still is one; ``suspended`` not from ``draft``; only a ``draft``
entry can be deleted. With the config option ``opendata.rule_enable`` set, making an entry
public adds (once) a rule of ``opendata.rule_account`` (default root) for
``opendata.rule_rse_expression`` (or ``opendata.rse_expression``), ``opendata.rule_copies``.
The files of an entry list their replicas' DISK PFNs on ``opendata.rse_expression`` (all RSEs
when it is unset; the real server then refuses). Download URLs (EOS tokens) are not made here:
``download_urls`` is always an empty list.
"""
import json
import re

import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import config_table, lookup, permissions
from rucio_tornado.core.common import did_key, integer, rfc1123
from rucio_tornado.core.dids import catalog
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.replicas import listing
from rucio_tornado.core.rules.lifecycle import add_rules
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, OpenDataDID, OpenDataDOI, OpenDataMeta, OpenDataRecord, Rule
from rucio_tornado.models import utcnow

#: state name -> stored code, as the real server's OpenDataDIDState.
STATES = {"public": "P", "draft": "D", "suspended": "S"}
NAMES = {code: name.upper() for name, code in STATES.items()}
DOI_PATTERN = re.compile(r"^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+$")


def checked_state(state) -> str:
    """The lower-case name of a valid state; OpenDataError (400) otherwise."""
    if not isinstance(state, str) or state.lower() not in STATES:
        raise exceptions.OpenDataError(
            f"Invalid state '{state}'. Valid opendata states are: {', '.join(STATES)}")
    return state.lower()


def _key(scope, name):
    return did_key({"scope": scope, "name": name}, "opendata DID")


def _entry(scope, name, state=None) -> OpenDataDID:
    query = OpenDataDID.select().where(OpenDataDID.scope == scope, OpenDataDID.name == name)
    if state is not None:
        query = query.where(OpenDataDID.state == STATES[state])
    row = query.first()
    if row is None:
        raise exceptions.OpenDataDataIdentifierNotFound(f"OpenData DID {scope}:{name} not found.")
    return row


def _line(row):
    return {"scope": row.scope, "name": row.name, "state": NAMES[row.state],
            "created_at": rfc1123(row.created_at), "updated_at": rfc1123(row.updated_at)}


# -- reading -----------------------------------------------------------------------------------
def list_opendata_dids(issuer: Issuer | None, state: str | None = None,
                       limit: int | None = None, offset: int | None = None) -> dict:
    """``{"total", "offset", "dids": [...]}`` ordered by last update; ``issuer`` None for the
    public listing."""
    query = OpenDataDID.select()
    if state is not None:
        query = query.where(OpenDataDID.state == STATES[checked_state(state)])
    for value, label in ((limit, "limit"), (offset, "offset")):
        if value is not None:
            integer(value, label, minimum=0)
    total = query.count()
    page = query.order_by(OpenDataDID.updated_at, OpenDataDID.scope, OpenDataDID.name)
    if limit is not None:
        page = page.limit(limit)
    if offset:
        page = page.offset(offset)
    return {"total": total, "offset": offset or 0, "dids": [_line(row) for row in page]}


def _rule_expression():
    return config_table.value("opendata", "rule_rse_expression") or None


def _rule_account():
    return config_table.value("opendata", "rule_account", "root")


def _rule_copies():
    return config_table.value("opendata", "rule_copies", 1)


def _opendata_rule(scope, name):
    expression = _rule_expression()
    if not expression:
        return None
    return Rule.select(Rule.id).where(
        Rule.scope == scope, Rule.name == name, Rule.account == str(_rule_account()),
        Rule.rse_expression == expression, Rule.copies == _rule_copies()).scalar()


def _files(issuer, scope, name):
    files = [{"scope": f["scope"], "name": f["name"], "bytes": f["bytes"],
              "adler32": f["adler32"]}
             for batch in catalog.list_files(issuer, scope, name) for f in batch]
    uris = {}
    expression = config_table.value("opendata", "rse_expression") or None
    if files:
        for batch in listing.list_replicas(issuer, [{"scope": scope, "name": name}],
                                           rse_expression=expression):
            for line in batch:
                replica = ujson.loads(line) if isinstance(line, str) else line
                uris[(replica["scope"], replica["name"])] = [
                    pfn for pfn, info in (replica.get("pfns") or {}).items()
                    if info.get("type") == "DISK"]
    for file in files:
        file["uris"] = uris.get((file["scope"], file["name"]), [])
    return files


def get_opendata_did(issuer: Issuer | None, scope: str, name: str, state: str | None = None,
                     files: bool = False, meta: bool = False, doi: bool = True,
                     record_id: bool = True, download_urls: bool = False) -> dict:
    """One entry with the parts asked for (``issuer`` None: the public view, ``public``
    entries only)."""
    scope, name = _key(scope, name)
    if issuer is None:
        state = "public"
    row = _entry(scope, name, None if state is None else checked_state(state))
    result = _line(row)
    if doi:
        result["doi"] = OpenDataDOI.select(OpenDataDOI.doi).where(
            OpenDataDOI.scope == scope, OpenDataDOI.name == name).scalar()
    if record_id:
        result["record_id"] = OpenDataRecord.select(OpenDataRecord.record_id).where(
            OpenDataRecord.scope == scope, OpenDataRecord.name == name).scalar()
    if meta:
        stored = OpenDataMeta.select(OpenDataMeta.meta).where(
            OpenDataMeta.scope == scope, OpenDataMeta.name == name).scalar()
        result["meta"] = json.loads(stored) if stored else {}
    result["rule"] = _opendata_rule(scope, name)
    if files:
        listed = _files(issuer, scope, name)
        extensions, missing = set(), 0
        for file in listed:
            if download_urls:
                file["download_urls"] = []
            if not file["uris"]:
                missing += 1
            for uri in file["uris"]:
                last = uri.split("/")[-1]
                if "." in last:
                    extensions.add(last.split(".")[-1])
        result["files"] = listed
        result["files_summary"] = {
            "length": len(listed), "bytes": sum(f["bytes"] or 0 for f in listed),
            "extensions": sorted(extensions), "replicas_missing": missing,
            "request_cache_hit": False, "request_time_elapsed_millis": 0}
    return result


# -- writing -----------------------------------------------------------------------------------
@atomic
def add_opendata_did(issuer: Issuer, scope: str, name: str) -> None:
    """Enter an existing DID into the catalog as a draft."""
    scope, name = _key(scope, name)
    permissions.check(issuer, "add_opendata_did", scope=scope, name=name)
    try:
        lookup.did(scope, name, DID.scope)
    except exceptions.DataIdentifierNotFound:
        raise exceptions.DataIdentifierNotFound(
            f"OpenData DID {scope}:{name} not found.") from None
    if OpenDataDID.get_or_none(scope=scope, name=name) is not None:
        raise exceptions.OpenDataDataIdentifierAlreadyExists(
            f"OpenData DID {scope}:{name} already exists.")
    OpenDataDID.insert(scope=scope, name=name, state=STATES["draft"]).execute()


@atomic
def delete_opendata_did(issuer: Issuer, scope: str, name: str) -> None:
    """Remove a draft entry (with its meta, DOI and record id)."""
    scope, name = _key(scope, name)
    permissions.check(issuer, "delete_opendata_did", scope=scope, name=name)
    row = _entry(scope, name)
    if row.state != STATES["draft"]:
        raise exceptions.OpenDataInvalidState(
            f"OpenData entry '{scope}:{name}' not in a valid state for deletion. "
            f"State: {NAMES[row.state]}, expected: DRAFT")
    for model in (OpenDataMeta, OpenDataDOI, OpenDataRecord, OpenDataDID):
        model.delete().where(model.scope == scope, model.name == name).execute()


def _checked_update(state, meta, doi, record_id):
    if all(value is None for value in (state, meta, doi, record_id)):
        raise exceptions.InputValidationError(
            "Either 'state', 'meta', 'doi', or 'record_id' must be provided to update the "
            "Opendata DID.")
    if state is not None:
        state = checked_state(state)
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError as exc:
            raise exceptions.InputValidationError(f"Invalid JSON data: {exc}") from None
    if meta is not None and not isinstance(meta, dict):
        raise exceptions.InputValidationError("'meta' must be a dictionary.")
    if doi is not None and (not isinstance(doi, str) or not DOI_PATTERN.match(doi)):
        raise exceptions.InputValidationError("Invalid DOI format.")
    if record_id is not None:
        if isinstance(record_id, str) and record_id.strip().isdigit():
            record_id = int(record_id)
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 0:
            raise exceptions.InputValidationError("Record ID must be a non-negative integer.")
    return state, meta, doi, record_id


@atomic
def update_opendata_did(issuer: Issuer, scope: str, name: str, state: str | None = None,
                        meta: dict | str | None = None, doi: str | None = None,
                        record_id: int | None = None) -> dict:
    """Change an entry's state, meta, DOI and/or record id; what changed, old and new."""
    scope, name = _key(scope, name)
    state, meta, doi, record_id = _checked_update(state, meta, doi, record_id)
    permissions.check(issuer, "update_opendata_did", scope=scope, name=name)
    row = _entry(scope, name)
    result = {}
    if state is not None:
        result.update(_update_state(row, state))
    if meta is not None:
        _upsert(OpenDataMeta, scope, name, meta=json.dumps(meta))
        result.update(scope=scope, name=name, meta_new=meta)
    if doi is not None:
        taken = OpenDataDOI.select(OpenDataDOI.scope, OpenDataDOI.name).where(
            OpenDataDOI.doi == doi).tuples().first()
        if taken is not None and taken != (scope, name):
            raise exceptions.OpenDataDuplicateDOI(f"DOI '{doi}' already exists.")
        old = _upsert(OpenDataDOI, scope, name, doi=doi)
        result.update(scope=scope, name=name, doi_new=doi, doi_old=old)
    if record_id is not None:
        taken = OpenDataRecord.select(OpenDataRecord.scope, OpenDataRecord.name).where(
            OpenDataRecord.record_id == record_id).tuples().first()
        if taken is not None and taken != (scope, name):
            raise exceptions.OpenDataDuplicateRecordID(
                f"Record ID '{record_id}' already exists.")
        old = _upsert(OpenDataRecord, scope, name, record_id=record_id)
        result.update(scope=scope, name=name, record_id_new=record_id, record_id_old=old)
    OpenDataDID.update(updated_at=utcnow()).where(
        OpenDataDID.scope == scope, OpenDataDID.name == name).execute()
    return result


def _upsert(model, scope, name, **values):
    """Set the one row of ``model`` for the DID; the previous value (None when new)."""
    (column,) = values
    old = model.select(getattr(model, column)).where(
        model.scope == scope, model.name == name).scalar()
    if old is None:
        model.insert(scope=scope, name=name, **values).execute()
    else:
        model.update(updated_at=utcnow(), **values).where(
            model.scope == scope, model.name == name).execute()
    return None if column == "meta" else old


def _update_state(row, state):
    before = NAMES[row.state].lower()
    if state == "draft" and before != "draft":
        raise exceptions.OpenDataInvalidStateUpdate(
            "Cannot set state to DRAFT. Once a DID is made public, it cannot be reverted to "
            "DRAFT.")
    if state == "suspended" and before == "draft":
        raise exceptions.OpenDataInvalidStateUpdate(
            "Cannot set state to SUSPENDED from DRAFT. First set it to PUBLIC.")
    output = {"scope": row.scope, "name": row.name, "state_old": before.upper(),
              "state_new": state.upper()}
    if state == "public":
        did = lookup.did(row.scope, row.name, DID.did_type, DID.is_open)
        if did.did_type != "FILE" and did.is_open:
            raise exceptions.OpenDataInvalidStateUpdate(
                "Cannot set state to PUBLIC. The DID must be closed first.")
    OpenDataDID.update(state=STATES[state]).where(
        OpenDataDID.scope == row.scope, OpenDataDID.name == row.name).execute()
    if state == "public" and config_table.value("opendata", "rule_enable", False) is True:
        rule_id = _opendata_rule(row.scope, row.name)
        if rule_id:
            output.update(rule=rule_id, comments="Replication rule already exists")
        else:
            output.update(rule=_add_rule(row.scope, row.name),
                          comments="Replication rule created")
    return output


def _add_rule(scope, name):
    expression = _rule_expression() or config_table.value("opendata", "rse_expression")
    if not expression:
        raise exceptions.ConfigNotFound(
            "opendata: rule_enable needs rule_rse_expression or rse_expression")
    account = str(_rule_account())
    owner = Issuer(account=account, is_admin=True)
    body = {"dids": [{"scope": scope, "name": name}], "account": account,
            "copies": _rule_copies(), "rse_expression": str(expression), "grouping": "DATASET"}
    activity = config_table.value("opendata", "rule_activity")
    if activity:
        body["activity"] = str(activity)
    return add_rules(owner, body)[0]
