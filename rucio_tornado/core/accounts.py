"""Accounts and account attributes."""
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import like, reject_unknown, rfc1123, validate
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, AccountAttribute, IdentityAccount, utcnow

ACCOUNT_TYPES = ("USER", "GROUP", "SERVICE")
#: Statuses ``update_account`` may set (DELETED only comes from ``delete_account``).
SETTABLE_STATUSES = ("ACTIVE", "SUSPENDED")


def account_type(value) -> str:
    """The upper-cased account type; InvalidAccountType."""
    if not isinstance(value, str) or value.upper() not in ACCOUNT_TYPES:
        raise exceptions.InvalidAccountType(f"Account type {value!r} is not valid")
    return value.upper()


def _email(value):
    if value is not None and not isinstance(value, str):
        raise exceptions.InvalidObject("email must be a string or null")
    return value


@atomic
def add_account(issuer: Issuer, account: str, type_: str, email: str | None = None) -> None:
    """Create an ACTIVE account; a name in use (also by a deleted account) -> 409."""
    permissions.check(issuer, "add_account")
    validate("account", account)
    type_ = account_type(type_)
    _email(email)
    if Account.select().where(Account.account == account).exists():
        raise exceptions.Duplicate(f"Account ID '{account}' already exists!")
    Account.create(account=account, account_type=type_, email=email)


def to_dict(row: Account) -> dict:
    return {"account": row.account, "account_type": row.account_type, "status": row.status,
            "email": row.email, "suspended_at": rfc1123(row.suspended_at),
            "deleted_at": rfc1123(row.deleted_at), "created_at": rfc1123(row.created_at),
            "updated_at": rfc1123(row.updated_at)}


def get_account(issuer: Issuer, account: str) -> dict:
    """The account document (deleted and suspended accounts included)."""
    return to_dict(lookup.account_read(account))


UPDATABLE = ("status", "email", "account_type")


@atomic
def update_account(issuer: Issuer, account: str, changes: dict) -> None:
    """Apply ``changes`` (keys from UPDATABLE, each checked); suspending stamps suspended_at."""
    permissions.check(issuer, "update_account")
    reject_unknown(changes, UPDATABLE, "account update")
    row = lookup.account(account)
    now = utcnow()
    for key, value in changes.items():
        if key == "status":
            if value not in SETTABLE_STATUSES:
                raise exceptions.InvalidObject(f"Invalid account status {value!r}")
            row.status = value
            row.suspended_at = now if value == "SUSPENDED" else None
        elif key == "account_type":
            row.account_type = account_type(value)
        else:
            row.email = _email(value)
    row.updated_at = now
    row.save()


@atomic
def delete_account(issuer: Issuer, account: str) -> None:
    """Soft delete of an ACTIVE account (a suspended or deleted one is not found)."""
    permissions.check(issuer, "delete_account")
    row = lookup.account(account, active_only=True)
    row.status, row.deleted_at, row.updated_at = "DELETED", utcnow(), utcnow()
    row.save()


def list_accounts(issuer: Issuer, account_type: str | None = None, identity: str | None = None,
                  name_pattern: str | None = None, attributes: dict | None = None) -> list[dict]:
    """ACTIVE accounts ordered by name, as a list of ``{"account","type","email"}``.

    ``name_pattern`` takes Rucio's wildcards; it is lower-cased because account names are
    (so it matches case-insensitively, as before).
    """
    query = Account.select(Account.account, Account.account_type, Account.email).where(
        Account.status == "ACTIVE")
    if account_type:
        query = query.where(Account.account_type == account_type.upper())
    if name_pattern:
        query = query.where(like(Account.account, name_pattern.lower()))
    if identity:
        linked = IdentityAccount.select(IdentityAccount.account).where(
            IdentityAccount.identity == identity)
        query = query.where(Account.account.in_(linked))
    for key, value in (attributes or {}).items():
        matching = AccountAttribute.select(AccountAttribute.account).where(
            AccountAttribute.key == key, AccountAttribute.value == encode_attribute(value))
        query = query.where(Account.account.in_(matching))
    return [{"account": a, "type": t, "email": e}
            for a, t, e in query.order_by(Account.account).tuples()]


# -- attributes ------------------------------------------------------------------------------
def encode_attribute(value) -> str:
    """Store ``"True"``/``"False"`` (any case) as JSON booleans, everything else as given."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    return ujson.dumps(value)


def list_attributes(issuer: Issuer, account: str) -> list[dict]:
    """``[{"key", "value"}]`` of the account's attributes, by key."""
    lookup.account(account)
    rows = AccountAttribute.select().where(AccountAttribute.account == account).order_by(
        AccountAttribute.key)
    return [{"key": row.key, "value": ujson.loads(row.value)} for row in rows]


@atomic
def add_attribute(issuer: Issuer, account: str, key: str, value) -> None:
    """Add an attribute (booleans stored as such); an existing key -> 409."""
    permissions.check(issuer, "add_account_attribute", account=account)
    validate("attribute", key)
    if isinstance(value, bool):
        value = str(value)
    validate("attribute", value)
    lookup.account(account)
    if AccountAttribute.select().where(AccountAttribute.account == account,
                                       AccountAttribute.key == key).exists():
        raise exceptions.Duplicate(f"Attribute '{key}' already exists for account '{account}'")
    AccountAttribute.create(account=account, key=key, value=encode_attribute(value))


@atomic
def delete_attribute(issuer: Issuer, account: str, key: str) -> None:
    """Delete an attribute; a missing one is AccountNotFound (the real server's class)."""
    permissions.check(issuer, "delete_account_attribute", account=account)
    lookup.account(account)
    deleted = AccountAttribute.delete().where(AccountAttribute.account == account,
                                              AccountAttribute.key == key).execute()
    if not deleted:
        raise exceptions.AccountNotFound(
            f"Attribute ({key}) does not exist for account {account}")
