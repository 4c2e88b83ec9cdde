"""The one permission table (API.md §5): ``check(issuer, action, **context)``.

It follows the real server's generic policy (``rucio/core/permission/generic.py``) action by
action: root and accounts with attribute ``admin=True`` may do what is listed ``admin_only``;
a few actions are root's alone, one (hard-deleting replicas) nobody's; other rules name the
exact condition. Core functions call :func:`check` before they change anything. Each resource
module adds its actions to :data:`RULES` in the section below marked for it.
"""
from dataclasses import dataclass

from rucio_tornado import exceptions
from rucio_tornado.core.rses import expression
from rucio_tornado.models import AccountAttribute


@dataclass(frozen=True)
class Issuer:
    """Who is making the request: the token's account, and whether it is root/admin."""
    account: str
    is_admin: bool = False
    vo: str = "def"


def admin_only(issuer, **_):
    return issuer.is_admin


def scope_owner_or_admin(issuer, scope_owner=None, scope=None, **_):
    """DID work in a scope: its owner, root/admin, or anyone in scope ``mock``."""
    return issuer.is_admin or issuer.account == scope_owner or scope == "mock"


def scope_owner_strict(issuer, scope_owner=None, **_):
    """Metadata and scope ownership: the scope's owner or root/admin (no ``mock`` exception)."""
    return issuer.is_admin or (scope_owner is not None and issuer.account == scope_owner)


OPEN_RSE_SUFFIXES = ("SCRATCHDISK", "USERDISK", "MOCK", "LOCALGROUPDISK")


def replica_writer(issuer, rse=None, **_):
    """Adding replicas: root/admin, or anyone on scratch/user/mock RSEs."""
    return issuer.is_admin or (rse or "").endswith(OPEN_RSE_SUFFIXES)


def rule_creator(issuer, account=None, locked=False, **_):
    """An account creates unlocked rules for itself; root/admin anything."""
    return issuer.is_admin or (account == issuer.account and not locked)


def nobody(issuer, **_):
    """Denied to every account, root included (the real policy's ``delete_replicas``)."""
    return False


def root_only(issuer, **_):
    """The root account itself, not other admins (heartbeat listing, export)."""
    return issuer.account == "root"


def _country_admin_of(account) -> set:
    """The countries XX of the account's attributes ``country-XX`` = ``admin``."""
    rows = AccountAttribute.select(AccountAttribute.key, AccountAttribute.value).where(
        AccountAttribute.account == account, AccountAttribute.key.startswith("country-"))
    return {key.partition("-")[2] for key, value in rows.tuples()
            if expression.decode_attribute(value) == "admin"}


def _rse_countries(rse=None, rse_expression=None) -> set | None:
    """The ``country`` attributes of the RSE named ``rse`` or of those ``rse_expression``
    resolves to (None for an RSE without one); None when nothing resolves."""
    try:
        rses = expression.resolve(rse_expression if rse is None else f"rse={rse}")
    except exceptions.RucioException:
        return None
    return {item["attributes"].get("country") for item in rses} or None


def limit_setter(issuer, rse=None, rse_expression=None, **_):
    """Account limits: root/admin, or an account with ``country-XX=admin`` when every RSE
    concerned has the attribute ``country=XX`` (the real policy's country admins)."""
    if issuer.is_admin:
        return True
    countries = _country_admin_of(issuer.account)
    if not countries:
        return False
    concerned = _rse_countries(rse, rse_expression)
    return concerned is not None and concerned <= countries


def usage_reader(issuer, account=None, **_):
    """Account usage: the account itself, root/admin, or any country admin."""
    return issuer.is_admin or issuer.account == account or bool(
        _country_admin_of(issuer.account))


def follower_or_admin(issuer, account=None, scope=None, **_):
    """Following a DID: an account for itself, root/admin for anyone, anyone in scope mock."""
    return issuer.is_admin or issuer.account == account or scope == "mock"


def anyone(issuer, **_):
    """Every authenticated account."""
    return True


def url_signer(issuer, sign_url=False, **_):
    """Signed URLs: root, or an account with the attribute ``sign-url`` (the caller reads it)."""
    return issuer.account == "root" or bool(sign_url)


RULES = {
    # -- accounts, identities, scopes --
    "add_account": root_only,
    "update_account": admin_only,
    "delete_account": root_only,
    "add_account_attribute": admin_only,
    "delete_account_attribute": admin_only,
    "add_identity": admin_only,
    "delete_identity": admin_only,
    "add_scope": admin_only,
    "update_scope": scope_owner_strict,
    "delete_scope": admin_only,
    "get_account_usage": usage_reader,
    # -- RSEs --
    "add_rse": admin_only,
    "update_rse": admin_only,
    "delete_rse": admin_only,
    "add_rse_attribute": admin_only,
    "delete_rse_attribute": admin_only,
    "add_protocol": admin_only,
    "update_protocol": admin_only,
    "delete_protocol": admin_only,
    "add_distance": admin_only,
    "update_distance": admin_only,
    "delete_distance": admin_only,
    "set_rse_usage": root_only,
    "set_rse_limits": admin_only,
    "delete_rse_limits": admin_only,
    "set_account_limit": limit_setter,
    "delete_account_limit": limit_setter,
    # -- DIDs --
    "add_did": scope_owner_or_admin,
    "attach_dids": scope_owner_or_admin,
    "detach_dids": scope_owner_or_admin,
    "set_status": scope_owner_or_admin,
    "set_metadata": scope_owner_strict,
    "delete_metadata": scope_owner_strict,
    "obsolete_did": scope_owner_or_admin,
    "add_meta_key": admin_only,
    "create_did_sample": scope_owner_or_admin,
    "resurrect": admin_only,
    "add_did_to_followed": follower_or_admin,
    "remove_did_from_followed": follower_or_admin,
    "delete_meta_key": admin_only,
    # -- replicas --
    "add_replicas": replica_writer,
    "update_replicas_states": admin_only,
    "delete_replicas": nobody,
    "set_tombstone": admin_only,
    "declare_bad_replicas": root_only,
    # -- rules, subscriptions --
    "add_rule": rule_creator,
    "update_rule": admin_only,
    "delete_rule": admin_only,
    "approve_rule": admin_only,
    "reduce_rule": admin_only,
    "move_rule": admin_only,
    "add_subscription": admin_only,
    "update_subscription": admin_only,
    "delete_subscription": admin_only,
    # -- locks, requests, lifetime exceptions (as the real server: listing requests and their
    #    history, metrics and transfer limits are for root/admin; a DID's current request and
    #    asking for a lifetime exception are open to every account) --
    "get_request_by_did": anyone,
    "get_request_history_by_did": admin_only,
    "list_requests": admin_only,
    "list_requests_history": admin_only,
    "get_request_metrics": admin_only,
    "list_transfer_limits": admin_only,
    "set_transfer_limit": admin_only,
    "delete_transfer_limit": admin_only,
    "add_lifetime_exception": anyone,
    "update_lifetime_exception": admin_only,
    # -- configuration table, VOs, heartbeats (reads of the configuration too, as the real
    #    server's generic policy) --
    "config_get": admin_only,
    "config_set": admin_only,
    "config_remove_section": admin_only,
    "config_remove_option": admin_only,
    "list_vos": admin_only,
    "add_vo": admin_only,
    "update_vo": admin_only,
    "recover_vo_root_identity": admin_only,
    "list_heartbeats": root_only,
    "send_heartbeats": admin_only,

    # -- import/export, dirac, quarantine, QoS policies, opendata, signed URLs (as the real
    #    server: export is root's alone; signing a URL root's or a ``sign-url`` account's; the
    #    rest root/admin) --
    "export": root_only,
    "import": admin_only,
    "add_qos_policy": admin_only,
    "delete_qos_policy": admin_only,
    "skip_availability_check": admin_only,
    "quarantine_file_replicas": admin_only,
    "add_opendata_did": admin_only,
    "update_opendata_did": admin_only,
    "delete_opendata_did": admin_only,
    "get_signed_url": url_signer,
}


def has_permission(issuer: Issuer, action: str, **context) -> bool:
    """Whether ``issuer`` may perform ``action`` (a key of RULES) in this ``context``."""
    return RULES[action](issuer, **context)


def check(issuer: Issuer, action: str, **context) -> None:
    """Raise AccessDenied unless ``issuer`` may perform ``action``."""
    if not has_permission(issuer, action, **context):
        raise exceptions.AccessDenied(
            f"Account {issuer.account} can not perform {action}")
