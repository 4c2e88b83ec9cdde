"""RSE protocols (how a replica's PFN is built and accessed) and distances between RSEs.

A protocol row holds one priority per domain and operation, as the real server stores it:
NULL = the operation is not supported, else the priority (0 or more; the smallest is tried
first). Protocols are listed inside the RSE document (``rse_info``).
"""
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import check_type, integer, reject_unknown, rfc1123, to_bool
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rses.catalog import rse_info
from rucio_tornado.db import atomic
from rucio_tornado.models import RSEDistance, RSEProtocol, utcnow

#: domain -> operation -> RSEProtocol column
DOMAIN_COLUMNS = {
    "lan": {"read": "read_lan", "write": "write_lan", "delete": "delete_lan"},
    "wan": {"read": "read_wan", "write": "write_wan", "delete": "delete_wan",
            "third_party_copy_read": "third_party_copy_read",
            "third_party_copy_write": "third_party_copy_write"},
}
#: The operations a domain may name (the real server's list; ``third_party_copy_*`` are wan
#: columns whichever domain names them).
OPERATIONS = ("read", "write", "delete", "third_party_copy_read", "third_party_copy_write")
PROTOCOL_KEYS = ("scheme", "hostname", "port", "prefix", "impl", "domains", "extended_attributes")
#: Keys the real CLIs put into a protocol body that the real server ignores.
IGNORED_KEYS = ("domain_json", "extended_attributes_json", "ext_attr_json")
UPDATABLE_KEYS = ("prefix", "impl", "domains", "extended_attributes")


def _domain_values(domains):
    """``{"lan": {"read": 1, ...}, "wan": {...}}`` -> RSEProtocol column values.

    A priority is a non-negative integer or ``None`` (not supported); domains are checked
    before their operations, operations before their priorities, as the real server does."""
    check_type(domains, dict, "domains")
    values = {}
    for domain, operations in domains.items():
        if domain not in DOMAIN_COLUMNS:
            raise exceptions.RSEProtocolDomainNotSupported(
                f"The protocol domain '{domain}' is not defined in the schema.")
        check_type(operations, dict, f"domains.{domain}")
        for operation, priority in operations.items():
            if operation not in OPERATIONS:
                raise exceptions.UnknownOperation(
                    f"Operation '{operation}' not defined in schema.")
            if priority is not None and (type(priority) is not int or priority < 0):
                raise exceptions.RSEProtocolPriorityError(
                    f"The provided priority ({priority}) for operation '{operation}' in domain "
                    f"'{domain}' is not supported.")
            column = operation if operation.startswith("third_party_copy") \
                else DOMAIN_COLUMNS[domain][operation]
            values[column] = priority
    return values


def _common_values(params):
    values = {}
    if "domains" in params:
        values.update(_domain_values(params["domains"]))
    if "prefix" in params:
        values["prefix"] = check_type(params["prefix"], (str, type(None)), "prefix")
    if "impl" in params:
        values["impl"] = check_type(params["impl"], str, "impl")
    if "extended_attributes" in params:
        extended = params["extended_attributes"]
        values["extended_attributes"] = None if extended is None else ujson.dumps(extended)
    return values


def _port(value):
    """A port from a body or a path (where it is text)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return integer(value, "port", minimum=0, maximum=65535)


@atomic
def add_protocol(issuer: Issuer, rse: str, scheme: str, params: dict) -> None:
    """Add a protocol; ``params`` holds the PROTOCOL_KEYS (``scheme`` there wins over the
    path's), ``impl`` is mandatory and scheme/hostname/port must be new on the RSE.
    Operations ``domains`` leaves out are stored as not supported (NULL)."""
    permissions.check(issuer, "add_protocol", rse=rse)
    check_type(params, dict, "body")
    params = {key: value for key, value in params.items() if key not in IGNORED_KEYS}
    reject_unknown(params, PROTOCOL_KEYS, "protocol")
    scheme = params.get("scheme") or scheme
    if not isinstance(scheme, str) or not scheme or "/" in scheme:
        raise exceptions.InvalidObject(f"Invalid protocol scheme {scheme!r}")
    row = lookup.rse(rse)
    values = _common_values(params)
    if not params.get("impl"):
        raise exceptions.InvalidObject("Missing values! 'impl' is mandatory for a protocol")
    if scheme == "srm" and "web_service_path" not in (params.get("extended_attributes") or {}):
        raise exceptions.InvalidObject(
            "Missing values! For SRM, extended_attributes and web_service_path must be specified")
    hostname = check_type(params.get("hostname") or "localhost", str, "hostname")
    port = _port(params.get("port") or 0)
    if RSEProtocol.select().where(RSEProtocol.rse_id == row.id, RSEProtocol.scheme == scheme,
                                  RSEProtocol.hostname == hostname,
                                  RSEProtocol.port == port).exists():
        raise exceptions.Duplicate(
            f"Protocol '{scheme}' on port {port} already registered for  '{rse}' with "
            f"hostname '{hostname}'.")
    RSEProtocol.create(rse_id=row.id, scheme=scheme, hostname=hostname, port=port, **values)


def _matching(rse_id, scheme=None, hostname=None, port=None):
    query = RSEProtocol.select().where(RSEProtocol.rse_id == rse_id)
    if scheme is not None:
        query = query.where(RSEProtocol.scheme == scheme)
    if hostname is not None:
        query = query.where(RSEProtocol.hostname == hostname)
    if port is not None:
        query = query.where(RSEProtocol.port == _port(port))
    return query.order_by(RSEProtocol.scheme, RSEProtocol.hostname, RSEProtocol.port)


def _not_supported(rse, scheme=None, hostname=None, port=None):
    if scheme is None:
        return exceptions.RSEProtocolNotSupported(f"No protocols found for RSE '{rse}'")
    return exceptions.RSEProtocolNotSupported(
        f"RSE '{rse}' does not support protocol '{scheme}' for hostname '{hostname}' "
        f"on port '{port}'")


def _ranked(protocols, domain, operation):
    """The protocols supporting ``operation`` in ``domain`` (both if ``ALL``/None), best first,
    as the real rsemanager ranks them: any priority but NULL counts, the smallest wins."""
    if operation not in OPERATIONS:
        raise exceptions.RSEOperationNotSupported(f"Operation {operation} is not supported")
    domain = (domain or "ALL").lower()
    if domain not in ("all", *DOMAIN_COLUMNS):
        raise exceptions.RSEProtocolDomainNotSupported(f"Domain {domain} not supported")
    domains = list(DOMAIN_COLUMNS) if domain == "all" else [domain]
    columns = [DOMAIN_COLUMNS[d][operation] for d in domains if operation in DOMAIN_COLUMNS[d]]
    ranked = []
    for protocol in protocols:
        priorities = [getattr(protocol, c) for c in columns if getattr(protocol, c) is not None]
        if priorities:
            ranked.append((min(priorities), protocol))
    return [protocol for _, protocol in sorted(ranked, key=lambda item: item[0])]


def get_protocols(issuer: Issuer, rse: str, scheme: str | None = None,
                  hostname: str | None = None, port=None, domain: str | None = None,
                  operation: str | None = None, default: bool = False) -> dict:
    """The RSE document with its matching protocols; none -> RSEProtocolNotSupported.

    ``domain`` (``lan``/``wan``/``ALL``) and ``operation`` keep the protocols supporting that
    operation, best priority first; ``default`` keeps only the best one. An unknown operation
    is RSEOperationNotSupported, an unknown domain RSEProtocolDomainNotSupported.
    """
    row = lookup.rse(rse)
    protocols = list(_matching(row.id, scheme, hostname, port))
    if operation is not None:
        protocols = _ranked(protocols, domain, operation)
        if default:
            protocols = protocols[:1]
    if not protocols:
        raise _not_supported(rse, scheme, hostname, port)
    return rse_info(row, protocols)


def _matching_ids(rse, scheme, hostname, port):
    """The ids of the protocols a path names; none -> RSEProtocolNotSupported."""
    row = lookup.rse(rse)
    ids = [p.id for p in _matching(row.id, scheme, hostname, port)]
    if not ids:
        raise _not_supported(rse, scheme, hostname, port)
    return ids


@atomic
def update_protocols(issuer: Issuer, rse: str, scheme: str, data: dict,
                     hostname: str | None = None, port=None) -> None:
    """Change the UPDATABLE_KEYS of every matching protocol. The protocol is looked up first
    (none -> RSEProtocolNotSupported), then the payload is checked."""
    permissions.check(issuer, "update_protocol", rse=rse)
    ids = _matching_ids(rse, scheme, hostname, port)
    check_type(data, dict, "body")
    reject_unknown(data, UPDATABLE_KEYS, "protocol update")
    values = _common_values(data)
    values["updated_at"] = utcnow()
    RSEProtocol.update(**values).where(RSEProtocol.id.in_(ids)).execute()


@atomic
def delete_protocols(issuer: Issuer, rse: str, scheme: str, hostname: str | None = None,
                     port=None) -> None:
    """Delete every matching protocol; none -> RSEProtocolNotSupported."""
    permissions.check(issuer, "delete_protocol", rse=rse)
    ids = _matching_ids(rse, scheme, hostname, port)
    RSEProtocol.delete().where(RSEProtocol.id.in_(ids)).execute()


# -- distances ---------------------------------------------------------------------------------
def _pairs(issuer, action, source, destination, bidirectional):
    """After the permission check: the (source id, destination id) pairs a write touches."""
    permissions.check(issuer, action)
    bidirectional = to_bool(bidirectional, "bidirectional")
    src, dst = lookup.rse(source).id, lookup.rse(destination).id
    return [(src, dst), (dst, src)] if bidirectional and src != dst else [(src, dst)]


def _existing(pair):
    return RSEDistance.get_or_none(src_rse_id=pair[0], dest_rse_id=pair[1])


@atomic
def add_distance(issuer: Issuer, source: str, destination: str, distance: int,
                 bidirectional: bool = False) -> None:
    """Add the distance (also the way back if ``bidirectional``); an existing one -> 409."""
    pairs = _pairs(issuer, "add_distance", source, destination, bidirectional)
    distance = integer(distance, "distance", minimum=0)
    for pair in pairs:
        if _existing(pair) is not None:
            # The real server raises Duplicate() without a message: its wire message is "None".
            raise exceptions.Duplicate("None")
        RSEDistance.create(src_rse_id=pair[0], dest_rse_id=pair[1], distance=distance)


def get_distance(issuer: Issuer, source: str, destination: str) -> list[dict]:
    """The distance as a one-line list, or ``[]`` if none is set (not a 404: the client's way)."""
    src, dst = lookup.rse(source).id, lookup.rse(destination).id
    row = _existing((src, dst))
    if row is None:
        return []
    return [{"src_rse_id": src, "dest_rse_id": dst, "distance": row.distance,
             "ranking": row.distance, "created_at": rfc1123(row.created_at),
             "updated_at": rfc1123(row.updated_at)}]


def _require_existing(pairs, source, destination):
    if any(_existing(pair) is None for pair in pairs):
        raise exceptions.NoDistance(f"No distance from {source} to {destination}")


@atomic
def update_distance(issuer: Issuer, source: str, destination: str, distance: int,
                    bidirectional: bool = False) -> None:
    """Change an existing distance (both ways if ``bidirectional``); missing -> NoDistance."""
    pairs = _pairs(issuer, "update_distance", source, destination, bidirectional)
    distance = integer(distance, "distance", minimum=0)
    _require_existing(pairs, source, destination)
    for src, dst in pairs:
        RSEDistance.update(distance=distance, updated_at=utcnow()).where(
            RSEDistance.src_rse_id == src, RSEDistance.dest_rse_id == dst).execute()


@atomic
def delete_distance(issuer: Issuer, source: str, destination: str,
                    bidirectional: bool = False) -> None:
    """Delete the distance (both ways if ``bidirectional``); a missing one is no error, as in
    the real server."""
    pairs = _pairs(issuer, "delete_distance", source, destination, bidirectional)
    for src, dst in pairs:
        RSEDistance.delete().where(RSEDistance.src_rse_id == src,
                                   RSEDistance.dest_rse_id == dst).execute()
