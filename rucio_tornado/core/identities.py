"""Identities (USERPASS, X509, GSS, SSH, OIDC) and their links to accounts."""
from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.auth.passwords import hash_password
from rucio_tornado.core.auth.resolve import TYPE_ALIASES, canonical_identity
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, Identity, IdentityAccount

IDENTITY_TYPES = ("X509", "GSS", "USERPASS", "SSH", "SAML", "OIDC")   # the real enum order


def is_identity_type(value) -> bool:
    return isinstance(value, str) and TYPE_ALIASES.get(value.upper(), value.upper()) in IDENTITY_TYPES


def identity_type(value) -> str:
    """The upper-cased identity type (aliases resolved); InvalidObject."""
    if not is_identity_type(value):
        raise exceptions.InvalidObject(f"Invalid identity type {value!r}")
    return TYPE_ALIASES.get(value.upper(), value.upper())


# -- identity keys as stored (core/auth: the `proxy` alias, X.509 DN form, SSH key check) -----
def identity_key(type_, identity):
    """``(type, identity)`` as stored and compared."""
    type_, identity = canonical_identity(type_, identity)
    return identity_type(type_), identity


@atomic
def add_identity(issuer: Issuer, account: str, identity: str, type_: str,
                 email: str | None = None, password: str | None = None,
                 default: bool = False) -> None:
    """Create the identity if needed and link it to ``account`` (409 if already linked)."""
    permissions.check(issuer, "add_identity", account=account)
    type_, identity = identity_key(type_, identity)
    if not isinstance(identity, str) or not identity or len(identity) > 2048:
        raise exceptions.InvalidObject("identity must be a non-empty string")
    if email is not None and not isinstance(email, str):
        raise exceptions.InvalidObject("email must be a string or null")
    if type_ == "USERPASS" and not password:
        raise exceptions.IdentityError("You must provide a password!")
    if password is not None and not isinstance(password, str):
        raise exceptions.InvalidObject("password must be a string")
    lookup.account(account, active_only=True)
    row = Identity.get_or_none(identity=identity, identity_type=type_)
    if row is None:
        Identity.create(identity=identity, identity_type=type_, email=email,
                        password_hash=hash_password(password) if password else None)
    elif row.deleted or password:
        row.deleted = False
        if password:
            row.password_hash = hash_password(password)
        row.email = email or row.email
        row.save()
    if IdentityAccount.get_or_none(identity=identity, identity_type=type_,
                                   account=account) is not None:
        raise exceptions.Duplicate(
            f"Identity pair '{identity}','{type_}' already exists for account '{account}'")
    IdentityAccount.create(identity=identity, identity_type=type_, account=account,
                           is_default=bool(default))


def list_identities(issuer: Issuer, account: str) -> list[dict]:
    """``[{"type", "identity", "email"}]`` linked to the account."""
    lookup.account(account)
    query = (IdentityAccount
             .select(IdentityAccount.identity_type, IdentityAccount.identity, Identity.email)
             .join(Identity, on=((Identity.identity == IdentityAccount.identity) &
                                 (Identity.identity_type == IdentityAccount.identity_type)))
             .where(IdentityAccount.account == account)
             .order_by(IdentityAccount.identity_type, IdentityAccount.identity))
    return [{"type": t, "identity": i, "email": e} for t, i, e in query.tuples()]


@atomic
def delete_identity(issuer: Issuer, account: str, identity: str, type_: str) -> None:
    """Unlink the identity from the account; the identity is marked deleted once unlinked."""
    permissions.check(issuer, "delete_identity", account=account)
    type_, identity = identity_key(type_, identity)
    lookup.account(account)
    deleted = IdentityAccount.delete().where(
        IdentityAccount.identity == identity, IdentityAccount.identity_type == type_,
        IdentityAccount.account == account).execute()
    if not deleted:
        raise exceptions.IdentityMissing(
            f"Identity ('{identity}','{type_}') does not exist for account {account}")
    still_linked = IdentityAccount.select().where(
        IdentityAccount.identity == identity, IdentityAccount.identity_type == type_).exists()
    if not still_linked:
        Identity.update(deleted=True).where(Identity.identity == identity,
                                            Identity.identity_type == type_).execute()


def accounts_of_identity(issuer: Issuer, identity: str, type_: str) -> list[str]:
    """``GET /identities/{type}/{id}/accounts/``: the ACTIVE accounts linked to the identity."""
    type_, identity = identity_key(type_, identity)
    query = (IdentityAccount.select(IdentityAccount.account)
             .join(Account, on=(Account.account == IdentityAccount.account))
             .where(IdentityAccount.identity == identity, IdentityAccount.identity_type == type_,
                    Account.status == "ACTIVE")
             .order_by(IdentityAccount.account))
    accounts = [a for (a,) in query.tuples()]
    if not accounts and not Identity.select().where(
            Identity.identity == identity, Identity.identity_type == type_).exists():
        raise exceptions.IdentityMissing(f"Identity ('{identity}','{type_}') does not exist")
    return accounts
