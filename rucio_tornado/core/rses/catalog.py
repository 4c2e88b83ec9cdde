"""Storage elements (RSEs) and their attributes.

An RSE is soft-deleted (``deleted``); its name stays taken, as in the real server.
Every RSE carries the attribute ``<its name>: true``, and its location properties
(LOCATION_SETTINGS) are mirrored into attributes of the same names. Attribute values are JSON text:
``true``/``false`` (any case) become booleans, other values are kept as strings.
"""
import re
from collections.abc import Iterator

import ujson

from rucio_tornado import exceptions
from rucio_tornado.compiled import Compiled
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import integer, map_batches, rfc1123, row_mapper, to_bool, validate
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rses import expression as rse_expression
from rucio_tornado.core.rses.expression import BOOLEAN_COLUMNS, NUMBER_COLUMNS, RSE_FIELDS
from rucio_tornado.db import atomic, current
from rucio_tornado.models import RSE, Replica, RSEAttribute, RSEProtocol, utcnow

#: Text properties accepted by add (and, but for ISP/ASN, by update) with their maximum length;
#: the boolean and number properties are the expression language's BOOLEAN/NUMBER_COLUMNS.
TEXT_PROPERTIES = {"city": 255, "region_code": 2, "country_name": 255, "continent": 2,
                   "time_zone": 255, "ISP": 255, "ASN": 255, "qos_class": 64}
ADD_KEYS = set(TEXT_PROPERTIES) | set(BOOLEAN_COLUMNS) | set(NUMBER_COLUMNS) | {
    "rse_type", "availability"}
UPDATE_KEYS = (ADD_KEYS - {"ISP", "ASN"}) | {"name"}
#: The properties the real server also keeps as RSE attributes (its ``RSE_SETTINGS``).
LOCATION_SETTINGS = ("continent", "city", "region_code", "country_name", "time_zone", "ISP", "ASN")
#: Properties whose column cannot be null: a null in a body means "the default / unchanged".
NOT_NULL_KEYS = set(BOOLEAN_COLUMNS) | {"rse_type", "name"}
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


def availability_bits(read, write, delete) -> int:
    """The integer bitmask of the three flags: 4 = read, 2 = write, 1 = delete."""
    return 4 * bool(read) + 2 * bool(write) + bool(delete)


# -- checking properties -----------------------------------------------------------------------
def _checked_properties(properties, allowed, error):
    """Validated column values from a request body; unknown keys raise ``error``."""
    if not isinstance(properties, dict):
        raise exceptions.InvalidJSONType("body must be a json dictionary")
    unknown = sorted(set(properties) - allowed)
    if unknown:
        raise error(f"Unknown RSE propert{'y' if len(unknown) == 1 else 'ies'}: "
                    f"{', '.join(unknown)}")
    values = {}
    if properties.get("availability") is not None:
        bits = integer(properties["availability"], "availability", minimum=0, maximum=7)
        values.update(availability_read=bool(bits & 4), availability_write=bool(bits & 2),
                      availability_delete=bool(bits & 1))
    for key, value in properties.items():
        if key == "availability" or (value is None and key in NOT_NULL_KEYS):
            continue        # null: the column's default (add) or unchanged (update)
        if key in BOOLEAN_COLUMNS:
            values[key] = to_bool(value, key)
        elif key == "rse_type":
            if not isinstance(value, str) or value.upper() not in ("DISK", "TAPE"):
                raise exceptions.InvalidObject(f"Invalid rse_type {value!r}: DISK or TAPE")
            values[key] = value.upper()
        elif key in NUMBER_COLUMNS:
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise exceptions.InvalidObject(f"{key} must be a number")
            values[key] = value
        elif key in TEXT_PROPERTIES:
            if isinstance(value, int) and not isinstance(value, bool) and key == "ASN":
                value = str(value)
            if value is not None and (not isinstance(value, str)
                                      or len(value) > TEXT_PROPERTIES[key]):
                raise exceptions.InvalidObject(
                    f"{key} must be a string of at most {TEXT_PROPERTIES[key]} characters")
            values[key] = value
        elif key == "name":
            values["rse"] = validate("rse", value)
    return values


def _refuse_duplicate(name):
    """Deleted RSEs included: their names stay taken."""
    if RSE.select().where(RSE.rse == name).exists():
        raise exceptions.Duplicate(f"RSE '{name}' already exists!")


def _mirror_settings(rse_id, values):
    """Keep the location properties among ``values`` as attributes too (null removes one)."""
    for key in LOCATION_SETTINGS:
        if key not in values:
            continue
        if values[key] in (None, ""):
            RSEAttribute.delete().where(RSEAttribute.rse_id == rse_id,
                                        RSEAttribute.key == key).execute()
        else:
            _set_attribute(rse_id, key, values[key])


# -- RSEs --------------------------------------------------------------------------------------
@atomic
def add_rse(issuer: Issuer, rse: str, properties: dict | None = None) -> str:
    """Create the RSE and its ``<name>: true`` attribute; returns the new id.

    ``properties`` is checked key by key: an unknown one is a 422 as on the real server.
    """
    permissions.check(issuer, "add_rse", rse=rse)
    validate("rse", rse)
    values = _checked_properties(properties or {}, ADD_KEYS,
                                 exceptions.InvalidRSEProperties)
    _refuse_duplicate(rse)
    row = RSE.create(rse=rse, vo=issuer.vo, **values)
    RSEAttribute.create(rse_id=row.id, key=rse, value="true")
    _mirror_settings(row.id, values)
    return row.id


def protocol_to_dict(row: RSEProtocol) -> dict:
    """A protocol as the client reads it: priorities grouped by domain and operation."""
    return {
        "scheme": row.scheme, "hostname": row.hostname, "port": row.port, "prefix": row.prefix,
        "impl": row.impl,
        "domains": {
            "lan": {"read": row.read_lan, "write": row.write_lan, "delete": row.delete_lan},
            "wan": {"read": row.read_wan, "write": row.write_wan, "delete": row.delete_wan,
                    "third_party_copy_read": row.third_party_copy_read,
                    "third_party_copy_write": row.third_party_copy_write}},
        "extended_attributes": ujson.loads(row.extended_attributes)
        if row.extended_attributes else None,
    }


def _protocols_of(rse_id):
    return RSEProtocol.select().where(RSEProtocol.rse_id == rse_id).order_by(
        RSEProtocol.scheme, RSEProtocol.hostname, RSEProtocol.port)


def _info_attributes_of(rse_id):
    return RSEAttribute.select(RSEAttribute.key, RSEAttribute.value).where(
        RSEAttribute.rse_id == rse_id, RSEAttribute.key.in_(
            ("lfn2pfn_algorithm", "sign_url", "verify_checksum")))


#: ``GET /rses/{rse}``'s statements, compiled once (rucio_tornado/compiled.py).
_PROTOCOLS = Compiled(_protocols_of)
_INFO_ATTRIBUTES = Compiled(_info_attributes_of)


def rse_info(row: RSE, protocols=None, attributes=None) -> dict:
    """The ``GET /rses/{rse}`` document (API.md §4.7) of an RSE row (or read-only row);
    ``attributes``: its ``(key, value)`` pairs among lfn2pfn_algorithm, sign_url and
    verify_checksum, if already read."""
    if protocols is None:
        protocols = _protocols_of(row.id)
    if attributes is None:
        attributes = _info_attributes_of(row.id).tuples()
    attributes = {key: rse_expression.decode_attribute(value) for key, value in attributes}
    return {
        "id": row.id, "rse": row.rse, "vo": row.vo, "rse_type": row.rse_type,
        "deterministic": row.deterministic, "volatile": row.volatile,
        "staging_area": row.staging_area, "availability_read": row.availability_read,
        "availability_write": row.availability_write,
        "availability_delete": row.availability_delete,
        "availability": availability_bits(row.availability_read, row.availability_write,
                                          row.availability_delete),
        "credentials": None, "domain": ["lan", "wan"],
        "lfn2pfn_algorithm": attributes.get("lfn2pfn_algorithm") or row.lfn2pfn_algorithm,
        "qos_class": row.qos_class, "sign_url": attributes.get("sign_url"),
        "verify_checksum": attributes.get("verify_checksum", row.verify_checksum),
        "protocols": [protocol_to_dict(p) for p in protocols],
    }


def get_rse(issuer: Issuer, rse: str) -> dict:
    """The RSE document with all its protocols."""
    row = lookup.rse_read(rse)
    return rse_info(row, _PROTOCOLS.all(row.id), _INFO_ATTRIBUTES.all(row.id))


@atomic
def update_rse(issuer: Issuer, rse: str, parameters: dict) -> None:
    """Change properties; a new ``name`` also renames the RSE's own ``<name>: true`` attribute."""
    permissions.check(issuer, "update_rse", rse=rse)
    values = _checked_properties(parameters, UPDATE_KEYS, exceptions.InputValidationError)
    row = lookup.rse(rse)
    new_name = values.get("rse")
    if new_name is not None and new_name != row.rse:
        _refuse_duplicate(new_name)
        RSEAttribute.delete().where(RSEAttribute.rse_id == row.id,
                                    RSEAttribute.key == row.rse).execute()
        _set_attribute(row.id, new_name, True)
    _mirror_settings(row.id, values)
    values["updated_at"] = utcnow()
    RSE.update(**values).where(RSE.id == row.id).execute()


@atomic
def delete_rse(issuer: Issuer, rse: str) -> None:
    """Soft delete; refused while the RSE still holds replicas."""
    permissions.check(issuer, "delete_rse", rse=rse)
    row = lookup.rse(rse)
    if Replica.select().where(Replica.rse_id == row.id).exists():
        raise exceptions.RSEOperationNotSupported(f"RSE '{rse}' is not empty")
    now = utcnow()
    RSE.update(deleted=True, deleted_at=now, updated_at=now).where(RSE.id == row.id).execute()


LISTING_FIELDS = RSE_FIELDS + (RSE.deleted, RSE.deleted_at, RSE.created_at, RSE.updated_at)
_listing_row = row_mapper(
    [f.name for f in LISTING_FIELDS],
    {**{name: bool for name in BOOLEAN_COLUMNS + ("deleted",)},
     "deleted_at": rfc1123, "created_at": rfc1123, "updated_at": rfc1123})


def _listing_dict(row):
    out = _listing_row(row)
    out["availability"] = availability_bits(out["availability_read"], out["availability_write"],
                                            out["availability_delete"])
    return out


def list_rses(issuer: Issuer, expression: str | None = None) -> list | Iterator[list]:
    """Full rows of all non-deleted RSEs (batches), or ``{"rse"}`` lines for an expression."""
    if expression is not None:
        return [{"rse": rse["rse"]} for rse in rse_expression.resolve(expression)]
    query = RSE.select(*LISTING_FIELDS).where(RSE.deleted == False)  # noqa: E712
    return map_batches(current().iter_query(query, key=(RSE.rse, RSE.id)), _listing_dict)


# -- attributes --------------------------------------------------------------------------------
def encode_attribute(value) -> str:
    """JSON text of an attribute value: booleans (also ``"True"`` etc.) stay booleans,
    numbers become strings, anything else is refused."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    elif not isinstance(value, (str, bool)):
        raise exceptions.InvalidObject("An RSE attribute value must be a string or a boolean")
    return ujson.dumps(value)


def _check_key(key):
    if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
        raise exceptions.InvalidObject(f"Invalid RSE attribute key {key!r}")


def _set_attribute(rse_id, key, value):
    encoded = encode_attribute(value)
    updated = RSEAttribute.update(value=encoded, updated_at=utcnow()).where(
        RSEAttribute.rse_id == rse_id, RSEAttribute.key == key).execute()
    if not updated:
        RSEAttribute.create(rse_id=rse_id, key=key, value=encoded)


def list_attributes(issuer: Issuer, rse: str) -> dict:
    """``{key: value}`` of all the RSE's attributes, values decoded."""
    row = lookup.rse(rse)
    rows = RSEAttribute.select(RSEAttribute.key, RSEAttribute.value).where(
        RSEAttribute.rse_id == row.id).order_by(RSEAttribute.key).tuples()
    return {key: rse_expression.decode_attribute(value) for key, value in rows}


def get_attribute(issuer: Issuer, rse: str, key: str) -> dict:
    """``{key: value}`` of one attribute; RSEAttributeNotFound."""
    attribute = lookup.rse_attribute(lookup.rse(rse), key)
    return {key: rse_expression.decode_attribute(attribute.value)}


@atomic
def set_attribute(issuer: Issuer, rse: str, key: str, value) -> None:
    """Add or overwrite an attribute (upsert)."""
    permissions.check(issuer, "add_rse_attribute", rse=rse)
    _check_key(key)
    encode_attribute(value)
    _set_attribute(lookup.rse(rse).id, key, value)


@atomic
def delete_attribute(issuer: Issuer, rse: str, key: str) -> None:
    permissions.check(issuer, "delete_rse_attribute", rse=rse)
    lookup.rse_attribute(lookup.rse(rse), key).delete_instance()
