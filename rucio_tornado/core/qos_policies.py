"""QoS policies of an RSE (``/rses/{rse}/qos_policy``): a set of names per RSE."""
from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import check_type
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import RSEQoSPolicy

MAX_LENGTH = 64


def _policy(value):
    check_type(value, str, "qos_policy")
    if not value or len(value) > MAX_LENGTH:
        raise exceptions.InputValidationError(
            f"A QoS policy is a name of 1 to {MAX_LENGTH} characters")
    return value


def list_qos_policies(issuer: Issuer, rse: str) -> list[str]:
    """The policy names of the RSE, sorted."""
    row = lookup.rse(rse)
    return [name for (name,) in RSEQoSPolicy.select(RSEQoSPolicy.qos_policy).where(
        RSEQoSPolicy.rse_id == row.id).order_by(RSEQoSPolicy.qos_policy).tuples()]


@atomic
def add_qos_policy(issuer: Issuer, rse: str, qos_policy: str) -> None:
    """Add a policy; one the RSE has already -> Duplicate."""
    permissions.check(issuer, "add_qos_policy", rse=rse)
    _policy(qos_policy)
    row = lookup.rse(rse)
    if RSEQoSPolicy.get_or_none(rse_id=row.id, qos_policy=qos_policy) is not None:
        raise exceptions.Duplicate(f"QoS policy {qos_policy} already exists!")
    RSEQoSPolicy.create(rse_id=row.id, qos_policy=qos_policy)


@atomic
def delete_qos_policy(issuer: Issuer, rse: str, qos_policy: str) -> None:
    """Remove a policy (silently nothing if the RSE does not have it, as the real server)."""
    permissions.check(issuer, "delete_qos_policy", rse=rse)
    row = lookup.rse(rse)
    RSEQoSPolicy.delete().where(RSEQoSPolicy.rse_id == row.id,
                                RSEQoSPolicy.qos_policy == qos_policy).execute()
