"""``GET /export`` and ``POST /import``: a deployment's RSEs, distances and accounts as one
document, in the real server's shape (``rucio-admin data export|import``).

The export is the real server's ``{"rses": {name: rse}, "distances": {src: {dst: distance}}}``
(each RSE with its columns, ``attributes``, ``protocols``, ``MinFreeSpace``), plus
``"accounts"``: ``[{"account", "email", "type", "identities": [{"type", "identity"}]}]`` in the
shape the real import reads, so an export imports the accounts into a fresh server too. No
secret travels: USERPASS identities are exported without their password.

The import follows the real importer's default (``edit``) synchronisation: RSEs are added or
updated (never deleted); protocols updated or added (never removed); attributes and
``MinFreeSpace`` set; distances set; accounts added, updated (email) and, as on the real
server, the accounts the document does not list are deleted (never root). An account's
identity links follow its ``identities`` list (USERPASS links only when the list names one).
It all runs in one transaction: a bad document changes nothing.
"""
from rucio_tornado import exceptions
from rucio_tornado.core import accounts as account_core
from rucio_tornado.core import identities as identity_core
from rucio_tornado.core import permissions
from rucio_tornado.core.common import check_type, rfc1123
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rses import catalog, protocols, usage
from rucio_tornado.core.rses.expression import decode_attribute
from rucio_tornado.db import atomic
from rucio_tornado.models import (RSE, Account, Identity, IdentityAccount, RSEAttribute,
                                  RSEDistance, RSELimit)

#: RSE columns the real export leaves out.
_HIDDEN_COLUMNS = ("continent", "ASN", "ISP", "deleted", "deleted_at", "lfn2pfn_algorithm",
                   "verify_checksum")
#: Properties of an RSE document the import sets on an existing RSE (the real server's
#: mutable RSE properties that this server keeps).
_MUTABLE = ("availability_read", "availability_write", "availability_delete", "latitude",
            "longitude", "time_zone", "rse_type", "volatile", "deterministic", "region_code",
            "country_name", "city", "staging_area", "qos_class")
_NEW_RSE = _MUTABLE + ("continent", "ISP", "ASN")
_LIMITS = ("MinFreeSpace",)
_ALGORITHM_ATTRIBUTES = ("lfn2pfn_algorithm", "verify_checksum")
_PROTOCOL_KEY = ("scheme", "hostname", "port")


# -- export ------------------------------------------------------------------------------------
def _rse_document(row: RSE) -> dict:
    doc = {field: getattr(row, field) for field in RSE._meta.sorted_field_names
           if field not in _HIDDEN_COLUMNS}
    doc["created_at"], doc["updated_at"] = rfc1123(row.created_at), rfc1123(row.updated_at)
    attributes = {key: decode_attribute(value) for key, value in RSEAttribute.select(
        RSEAttribute.key, RSEAttribute.value).where(RSEAttribute.rse_id == row.id)
        .order_by(RSEAttribute.key).tuples()}
    info = catalog.rse_info(row)
    doc.update(attributes=attributes, protocols=info["protocols"], credentials=None,
               availability=info["availability"],
               lfn2pfn_algorithm=attributes.get("lfn2pfn_algorithm"),
               verify_checksum=attributes.get("verify_checksum"))
    limits = dict(RSELimit.select(RSELimit.name, RSELimit.value)
                  .where(RSELimit.rse_id == row.id).tuples())
    for name in _LIMITS:
        doc[name] = limits.get(name)
    return doc


def _accounts_document() -> list[dict]:
    links = {}
    for account, type_, identity in (IdentityAccount.select(
            IdentityAccount.account, IdentityAccount.identity_type, IdentityAccount.identity)
            .order_by(IdentityAccount.identity_type, IdentityAccount.identity).tuples()):
        links.setdefault(account, []).append({"type": type_, "identity": identity})
    return [{"account": row.account, "email": row.email, "type": row.account_type,
             "identities": links.get(row.account, [])}
            for row in Account.select().where(Account.status != "DELETED")
            .order_by(Account.account)]


def export_data(issuer: Issuer, distance: bool = True) -> dict:
    """The whole deployment document (root only, as the real server)."""
    permissions.check(issuer, "export")
    rows = list(RSE.select().where(RSE.deleted == False, RSE.vo == issuer.vo)  # noqa: E712
                .order_by(RSE.rse))
    data = {"rses": {row.rse: _rse_document(row) for row in rows}}
    if distance:
        names = {row.id: row.rse for row in rows}
        distances = {}
        for row in RSEDistance.select().order_by(RSEDistance.src_rse_id,
                                                 RSEDistance.dest_rse_id):
            if row.src_rse_id in names and row.dest_rse_id in names:
                distances.setdefault(names[row.src_rse_id], {})[names[row.dest_rse_id]] = {
                    "src_rse_id": row.src_rse_id, "dest_rse_id": row.dest_rse_id,
                    "distance": row.distance, "ranking": row.distance,
                    "created_at": rfc1123(row.created_at),
                    "updated_at": rfc1123(row.updated_at)}
        data["distances"] = distances
    data["accounts"] = _accounts_document()
    return data


# -- import ------------------------------------------------------------------------------------
def _import_protocols(issuer, name, documents):
    check_type(documents, list, f"rses.{name}.protocols")
    existing = {(p["scheme"], p["hostname"], p["port"])
                for p in catalog.get_rse(issuer, name)["protocols"]}
    for document in documents:
        document = dict(check_type(document, dict, f"rses.{name}.protocols[]"))
        for key in _PROTOCOL_KEY:
            if key not in document:
                raise exceptions.InvalidObject(f"A protocol of RSE {name} lacks '{key}'")
        key = tuple(document[k] for k in _PROTOCOL_KEY)
        if key in existing:
            changes = {k: v for k, v in document.items() if k in protocols.UPDATABLE_KEYS}
            if changes:
                protocols.update_protocols(issuer, name, key[0], changes, hostname=key[1],
                                           port=key[2])
        else:
            protocols.add_protocol(issuer, name, key[0],
                                   {k: v for k, v in document.items()
                                    if k in protocols.PROTOCOL_KEYS})


def _import_rse(issuer, name, document):
    check_type(document, dict, f"rses.{name}")
    try:
        catalog.get_rse(issuer, name)
        changes = {k: document[k] for k in _MUTABLE if k in document}
        if changes:
            catalog.update_rse(issuer, name, changes)
    except exceptions.RSENotFound:
        catalog.add_rse(issuer, name, {k: document[k] for k in _NEW_RSE
                                       if document.get(k) is not None})
    if document.get("protocols"):
        _import_protocols(issuer, name, document["protocols"])
    for limit in _LIMITS:
        if document.get(limit):
            usage.set_rse_limit(issuer, name, limit, document[limit])
    attributes = dict(check_type(document.get("attributes") or {}, dict,
                                 f"rses.{name}.attributes"))
    for key in _ALGORITHM_ATTRIBUTES:
        attributes[key] = document.get(key)
    for key, value in attributes.items():
        if value is not None:
            catalog.set_attribute(issuer, name, key, value)


def _import_distances(issuer, distances):
    for source, destinations in distances.items():
        check_type(destinations, dict, f"distances.{source}")
        for destination, document in destinations.items():
            check_type(document, dict, f"distances.{source}.{destination}")
            value = document.get("distance", document.get("ranking"))
            if protocols.get_distance(issuer, source, destination):
                protocols.update_distance(issuer, source, destination, value)
            else:
                protocols.add_distance(issuer, source, destination, value)


def _import_identities(issuer, account, email, documents):
    wanted = set()
    for document in documents:
        check_type(document, dict, f"accounts.{account}.identities[]")
        type_ = identity_core.identity_type(document.get("type"))
        identity = document.get("identity")
        wanted.add((identity, type_))
        if IdentityAccount.get_or_none(identity=identity, identity_type=type_,
                                       account=account) is not None:
            continue
        known = Identity.get_or_none(identity=identity, identity_type=type_)
        if type_ == "USERPASS" and not document.get("password") and known is not None:
            IdentityAccount.create(identity=identity, identity_type=type_, account=account)
            continue
        identity_core.add_identity(issuer, account, identity, type_, email=email,
                                   password=document.get("password"))
    keep_userpass = not any(type_ == "USERPASS" for _, type_ in wanted)
    for link in IdentityAccount.select().where(IdentityAccount.account == account):
        if (link.identity, link.identity_type) not in wanted and not (
                keep_userpass and link.identity_type == "USERPASS"):
            identity_core.delete_identity(issuer, account, link.identity, link.identity_type)


def _import_accounts(issuer, documents):
    listed = set()
    for document in documents:
        check_type(document, dict, "accounts[]")
        name, email = document.get("account"), document.get("email")
        listed.add(name)
        row = Account.get_or_none(Account.account == name)
        if row is None or row.status == "DELETED":
            if row is not None:
                raise exceptions.Duplicate(f"Account ID '{name}' already exists (deleted)")
            account_core.add_account(issuer, name, document.get("type") or "USER", email)
        elif email and row.email != email:
            account_core.update_account(issuer, name, {"email": email})
        if document.get("identities"):
            _import_identities(issuer, name, email,
                               check_type(document["identities"], list,
                                          f"accounts.{name}.identities"))
    for (name,) in Account.select(Account.account).where(Account.status == "ACTIVE").tuples():
        if name not in listed and name != "root":
            account_core.delete_account(issuer, name)


@atomic
def import_data(issuer: Issuer, data: dict) -> None:
    """Add and update the RSEs, distances and accounts of ``data`` (root/admin)."""
    permissions.check(issuer, "import")
    check_type(data, dict, "body")
    for name, document in _section(data, "rses", dict).items():
        _import_rse(issuer, name, document)
    _import_distances(issuer, _section(data, "distances", dict))
    accounts = _section(data, "accounts", list)
    if accounts:
        _import_accounts(issuer, accounts)


def _section(data, key, kind):
    """``data[key]`` checked to be a ``kind`` (missing or null: empty)."""
    value = data.get(key)
    return kind() if value is None else check_type(value, kind, key)
