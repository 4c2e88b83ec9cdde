"""The one permission table (API.md §5): ``check(issuer, action, **context)``.

root and accounts with attribute ``admin=True`` may do everything listed here; other rules
name the exact condition. Core functions call :func:`check` before they change anything.
Each resource module adds its actions to :data:`RULES` in the section below marked for it.
"""
from dataclasses import dataclass

from rucio_tornado import exceptions


@dataclass(frozen=True)
class Issuer:
    """Who is making the request: the token's account, and whether it is root/admin."""
    account: str
    is_admin: bool = False
    vo: str = "def"


def admin_only(issuer, **_):
    return issuer.is_admin


def self_or_admin(issuer, account=None, **_):
    return issuer.is_admin or issuer.account == account


def scope_owner_or_admin(issuer, scope_owner=None, scope=None, **_):
    """DID work in a scope: its owner, root/admin, or anyone in scope ``mock``."""
    return issuer.is_admin or issuer.account == scope_owner or scope == "mock"


OPEN_RSE_SUFFIXES = ("SCRATCHDISK", "USERDISK", "MOCK", "LOCALGROUPDISK")


def replica_writer(issuer, rse=None, **_):
    """Adding replicas: root/admin, or anyone on scratch/user/mock RSEs."""
    return issuer.is_admin or (rse or "").endswith(OPEN_RSE_SUFFIXES)


def rule_creator(issuer, account=None, locked=False, **_):
    """An account creates unlocked rules for itself; root/admin anything."""
    return issuer.is_admin or (account == issuer.account and not locked)


#: Rule options the owner of a rule may change itself (account, state, priority, locking,
#: approval and child rules stay with root/admin).
RULE_OWNER_OPTIONS = ("comment", "lifetime", "activity", "source_replica_expression",
                      "cancel_requests", "eol_at", "meta", "purge_replicas", "boost_rule")


def rule_updater(issuer, account=None, options=(), **_):
    """root/admin change any rule; its owner only the options above."""
    return issuer.is_admin or (account == issuer.account
                               and set(options) <= set(RULE_OWNER_OPTIONS))


def root_only(issuer, **_):
    """The root account itself, not other admins (heartbeat listing, export)."""
    return issuer.account == "root"


def follower_or_admin(issuer, account=None, scope=None, **_):
    """Following a DID: an account for itself, root/admin for anyone, anyone in scope mock."""
    return issuer.is_admin or issuer.account == account or scope == "mock"


def anyone(issuer, **_):
    """Every authenticated account."""
    return True


RULES = {
    # -- accounts, identities, scopes --
    "add_account": admin_only,
    "update_account": admin_only,
    "delete_account": admin_only,
    "add_account_attribute": admin_only,
    "delete_account_attribute": admin_only,
    "add_identity": admin_only,
    "delete_identity": admin_only,
    "add_scope": admin_only,
    "update_scope": admin_only,
    "delete_scope": admin_only,
    "get_account_usage": self_or_admin,
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
    "set_rse_usage": admin_only,
    "set_rse_limits": admin_only,
    "delete_rse_limits": admin_only,
    "set_account_limit": admin_only,
    "delete_account_limit": admin_only,
    # -- DIDs --
    "add_did": scope_owner_or_admin,
    "attach_dids": scope_owner_or_admin,
    "detach_dids": scope_owner_or_admin,
    "set_status": scope_owner_or_admin,
    "set_metadata": scope_owner_or_admin,
    "delete_metadata": scope_owner_or_admin,
    "obsolete_did": scope_owner_or_admin,
    "add_meta_key": admin_only,
    "create_did_sample": scope_owner_or_admin,
    "resurrect": admin_only,
    "add_did_to_followed": follower_or_admin,
    "remove_did_from_followed": follower_or_admin,
    "delete_meta_key": admin_only,
    # -- replicas --
    "add_replicas": replica_writer,
    "update_replicas_states": replica_writer,
    "delete_replicas": admin_only,
    "set_tombstone": replica_writer,
    "declare_bad_replicas": admin_only,
    # -- rules, subscriptions --
    "add_rule": rule_creator,
    "update_rule": rule_updater,
    "delete_rule": self_or_admin,
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
    #    server: export is root's alone, the rest root/admin; signing a URL is every account's) --
    "export": root_only,
    "import": admin_only,
    "add_qos_policy": admin_only,
    "delete_qos_policy": admin_only,
}


def has_permission(issuer: Issuer, action: str, **context) -> bool:
    """Whether ``issuer`` may perform ``action`` (a key of RULES) in this ``context``."""
    return RULES[action](issuer, **context)


def check(issuer: Issuer, action: str, **context) -> None:
    """Raise AccessDenied unless ``issuer`` may perform ``action``."""
    if not has_permission(issuer, action, **context):
        raise exceptions.AccessDenied(
            f"Account {issuer.account} can not perform {action}")
