"""Accounts and account attributes."""
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.core.common import reject_unknown, rfc1123, validate
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, AccountAttribute, IdentityAccount, utcnow

ACCOUNT_TYPES = ("USER", "GROUP", "SERVICE")
STATUSES = ("ACTIVE", "SUSPENDED", "DELETED")


def get_row(account, active_only=False):
    """The Account row, or AccountNotFound (deleted accounts count as missing if active_only)."""
    row = Account.get_or_none(Account.account == account)
    if row is None or (active_only and row.status != "ACTIVE"):
        raise exceptions.AccountNotFound(f"Account with ID '{account}' cannot be found")
    return row


def account_type(value):
    if not isinstance(value, str) or value.upper() not in ACCOUNT_TYPES:
        raise exceptions.InvalidAccountType(f"Account type {value!r} is not valid")
    return value.upper()


@atomic
def add_account(issuer, account, type_, email=None):
    permissions.check(issuer, "add_account")
    validate("account", account)
    type_ = account_type(type_)
    if email is not None and not isinstance(email, str):
        raise exceptions.InvalidObject("email must be a string or null")
    if Account.get_or_none(Account.account == account) is not None:
        raise exceptions.Duplicate(f"Account ID '{account}' already exists!")
    Account.create(account=account, account_type=type_, email=email)


def to_dict(row):
    return {"account": row.account, "account_type": row.account_type, "status": row.status,
            "email": row.email, "suspended_at": rfc1123(row.suspended_at),
            "deleted_at": rfc1123(row.deleted_at), "created_at": rfc1123(row.created_at),
            "updated_at": rfc1123(row.updated_at)}


def get_account(issuer, account):
    return to_dict(get_row(account))


UPDATABLE = ("status", "email", "account_type")


@atomic
def update_account(issuer, account, changes):
    permissions.check(issuer, "update_account")
    reject_unknown(changes, UPDATABLE, "account update")
    row = get_row(account)
    now = utcnow()
    for key, value in changes.items():
        if key == "status":
            if value not in ("ACTIVE", "SUSPENDED"):
                raise exceptions.InvalidObject(f"Invalid account status {value!r}")
            row.status = value
            row.suspended_at = now if value == "SUSPENDED" else None
        elif key == "account_type":
            row.account_type = account_type(value)
        else:
            if value is not None and not isinstance(value, str):
                raise exceptions.InvalidObject("email must be a string or null")
            row.email = value
    row.updated_at = now
    row.save()


@atomic
def delete_account(issuer, account):
    permissions.check(issuer, "delete_account")
    row = get_row(account, active_only=True)
    if row.status == "DELETED":
        raise exceptions.AccountNotFound(f"Account with ID '{account}' cannot be found")
    row.status, row.deleted_at, row.updated_at = "DELETED", utcnow(), utcnow()
    row.save()


def list_accounts(issuer, account_type=None, identity=None, name_pattern=None,
                  attributes=None):
    """ACTIVE accounts ordered by name, as a list of ``{"account","type","email"}``."""
    query = Account.select(Account.account, Account.account_type, Account.email).where(
        Account.status == "ACTIVE")
    if account_type:
        query = query.where(Account.account_type == account_type.upper())
    if name_pattern:
        query = query.where(Account.account ** name_pattern.replace("*", "%"))
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
def encode_attribute(value):
    """Store ``"True"``/``"False"`` (any case) as JSON booleans, everything else as given."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    return ujson.dumps(value)


def list_attributes(issuer, account):
    get_row(account)
    rows = AccountAttribute.select().where(AccountAttribute.account == account).order_by(
        AccountAttribute.key)
    return [{"key": row.key, "value": ujson.loads(row.value)} for row in rows]


@atomic
def add_attribute(issuer, account, key, value):
    permissions.check(issuer, "add_account_attribute", account=account)
    validate("attribute", key)
    if isinstance(value, bool):
        value = str(value)
    validate("attribute", value)
    get_row(account)
    if AccountAttribute.get_or_none(account=account, key=key) is not None:
        raise exceptions.Duplicate(f"Attribute '{key}' already exists for account '{account}'")
    AccountAttribute.create(account=account, key=key, value=encode_attribute(value))


@atomic
def delete_attribute(issuer, account, key):
    permissions.check(issuer, "delete_account_attribute", account=account)
    get_row(account)
    deleted = AccountAttribute.delete().where(AccountAttribute.account == account,
                                              AccountAttribute.key == key).execute()
    if not deleted:
        raise exceptions.AccountNotFound(
            f"Attribute ({key}) does not exist for account {account}")
