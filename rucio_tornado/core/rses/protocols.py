"""RSE protocols (how a replica's PFN is built and accessed) and distances between RSEs.

A protocol row holds one priority per domain and operation: 0 = not supported, else the
priority (1 = first choice). Protocols are listed inside the RSE document (``rse_info``).
"""
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.core.common import check_type, rfc1123, to_bool
from rucio_tornado.core.rses.catalog import get_rse_row, rse_info
from rucio_tornado.db import atomic
from rucio_tornado.models import RSEDistance, RSEProtocol, utcnow

#: domain -> operation -> RSEProtocol column
DOMAIN_COLUMNS = {
    "lan": {"read": "read_lan", "write": "write_lan", "delete": "delete_lan"},
    "wan": {"read": "read_wan", "write": "write_wan", "delete": "delete_wan",
            "third_party_copy_read": "third_party_copy_read",
            "third_party_copy_write": "third_party_copy_write"},
}
PROTOCOL_KEYS = ("scheme", "hostname", "port", "prefix", "impl", "domains", "extended_attributes")
UPDATABLE_KEYS = ("prefix", "impl", "domains", "extended_attributes")


def _domain_values(domains):
    """``{"lan": {"read": 1, ...}, "wan": {...}}`` -> RSEProtocol column values."""
    check_type(domains, dict, "domains")
    values = {}
    for domain, operations in domains.items():
        if domain not in DOMAIN_COLUMNS:
            raise exceptions.RSEProtocolDomainNotSupported(
                f"The protocol domain '{domain}' is not supported")
        check_type(operations, dict, f"domains.{domain}")
        for operation, priority in operations.items():
            if operation == "third_party_copy" and domain == "wan":
                targets = ["third_party_copy_read", "third_party_copy_write"]
            elif operation in DOMAIN_COLUMNS[domain]:
                targets = [operation]
            else:
                raise exceptions.UnknownOperation(
                    f"Operation '{operation}' is not supported in domain '{domain}'")
            if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
                raise exceptions.RSEProtocolPriorityError(
                    f"The priority of {domain}/{operation} must be a non-negative integer")
            for target in targets:
                values[DOMAIN_COLUMNS[domain].get(target, target)] = priority
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
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise exceptions.InvalidObject(f"Invalid port {value!r}")
    return value


@atomic
def add_protocol(issuer, rse, scheme, params):
    permissions.check(issuer, "add_protocol", rse=rse)
    check_type(params, dict, "body")
    unknown = sorted(set(params) - set(PROTOCOL_KEYS))
    if unknown:
        raise exceptions.InvalidObject(f"Unknown protocol key(s): {', '.join(unknown)}")
    scheme = params.get("scheme") or scheme
    if not isinstance(scheme, str) or not scheme or "/" in scheme:
        raise exceptions.InvalidObject(f"Invalid protocol scheme {scheme!r}")
    if not params.get("impl"):
        raise exceptions.InvalidObject("Missing values! 'impl' is mandatory for a protocol")
    hostname = check_type(params.get("hostname") or "localhost", str, "hostname")
    port = _port(params.get("port") or 0)
    row = get_rse_row(rse)
    if RSEProtocol.select().where(RSEProtocol.rse_id == row.id, RSEProtocol.scheme == scheme,
                                  RSEProtocol.hostname == hostname,
                                  RSEProtocol.port == port).exists():
        raise exceptions.Duplicate(
            f"Protocol '{scheme}' on {hostname}:{port} already exists for RSE '{rse}'")
    RSEProtocol.create(rse_id=row.id, scheme=scheme, hostname=hostname, port=port,
                       **_common_values(params))


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


def get_protocols(issuer, rse, scheme=None, hostname=None, port=None, domain=None,
                  operation=None, default=False):
    """The RSE document with its matching protocols; none -> RSEProtocolNotSupported.

    ``domain`` (``lan``/``wan``/``ALL``) and ``operation`` keep the protocols supporting that
    operation, best priority first; ``default`` keeps only the best one.
    """
    row = get_rse_row(rse)
    protocols = list(_matching(row.id, scheme, hostname, port))
    if operation is not None:
        domains = ["lan", "wan"] if domain in (None, "ALL", "all") else [domain]
        if any(d not in DOMAIN_COLUMNS for d in domains):
            raise exceptions.RSEProtocolDomainNotSupported(f"Unknown domain '{domain}'")
        columns = [DOMAIN_COLUMNS[d][operation] for d in domains
                   if operation in DOMAIN_COLUMNS[d]]
        if not columns:
            raise exceptions.UnknownOperation(f"Unknown operation '{operation}'")
        ranked = [(min(getattr(p, c) for c in columns if getattr(p, c) > 0), p)
                  for p in protocols if any(getattr(p, c) > 0 for c in columns)]
        protocols = [p for _, p in sorted(ranked, key=lambda item: item[0])]
        if default:
            protocols = protocols[:1]
    if not protocols:
        raise _not_supported(rse, scheme, hostname, port)
    return rse_info(row, protocols)


@atomic
def update_protocols(issuer, rse, scheme, data, hostname=None, port=None):
    permissions.check(issuer, "update_protocol", rse=rse)
    check_type(data, dict, "body")
    unknown = sorted(set(data) - set(UPDATABLE_KEYS))
    if unknown:
        raise exceptions.InvalidObject(f"Protocol key(s) that cannot be updated: "
                                       f"{', '.join(unknown)}")
    values = _common_values(data)
    row = get_rse_row(rse)
    ids = [p.id for p in _matching(row.id, scheme, hostname, port)]
    if not ids:
        raise _not_supported(rse, scheme, hostname, port)
    values["updated_at"] = utcnow()
    RSEProtocol.update(**values).where(RSEProtocol.id.in_(ids)).execute()


@atomic
def delete_protocols(issuer, rse, scheme, hostname=None, port=None):
    permissions.check(issuer, "delete_protocol", rse=rse)
    row = get_rse_row(rse)
    ids = [p.id for p in _matching(row.id, scheme, hostname, port)]
    if not ids:
        raise _not_supported(rse, scheme, hostname, port)
    RSEProtocol.delete().where(RSEProtocol.id.in_(ids)).execute()


# -- distances ---------------------------------------------------------------------------------
def _distance_value(params):
    check_type(params, dict, "body")
    value = params.get("distance", params.get("ranking"))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise exceptions.InvalidObject("distance must be a non-negative integer")
    return value


def _pairs(source, destination, bidirectional):
    src, dst = get_rse_row(source).id, get_rse_row(destination).id
    return [(src, dst), (dst, src)] if bidirectional and src != dst else [(src, dst)]


def _existing(pair):
    return RSEDistance.get_or_none(src_rse_id=pair[0], dest_rse_id=pair[1])


@atomic
def add_distance(issuer, source, destination, params):
    permissions.check(issuer, "add_distance")
    distance = _distance_value(params)
    pairs = _pairs(source, destination, to_bool(params.get("bidirectional", False)))
    for pair in pairs:
        if _existing(pair) is not None:
            raise exceptions.Duplicate(f"Distance from {source} to {destination} already exists")
        RSEDistance.create(src_rse_id=pair[0], dest_rse_id=pair[1], distance=distance)


def get_distance(issuer, source, destination):
    src, dst = get_rse_row(source).id, get_rse_row(destination).id
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
def update_distance(issuer, source, destination, params):
    permissions.check(issuer, "update_distance")
    distance = _distance_value(params)
    pairs = _pairs(source, destination, to_bool(params.get("bidirectional", False)))
    _require_existing(pairs, source, destination)
    for src, dst in pairs:
        RSEDistance.update(distance=distance, updated_at=utcnow()).where(
            RSEDistance.src_rse_id == src, RSEDistance.dest_rse_id == dst).execute()


@atomic
def delete_distance(issuer, source, destination, bidirectional=False):
    permissions.check(issuer, "delete_distance")
    pairs = _pairs(source, destination, bidirectional)
    _require_existing(pairs, source, destination)
    for src, dst in pairs:
        RSEDistance.delete().where(RSEDistance.src_rse_id == src,
                                   RSEDistance.dest_rse_id == dst).execute()
