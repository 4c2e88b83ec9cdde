"""Scopes: namespaces of DIDs, each owned by an account."""
from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import validate
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, Scope, utcnow


@atomic
def add_scope(issuer: Issuer, account: str, scope: str) -> None:
    """Create the scope for an ACTIVE account; a deleted scope of that name is replaced."""
    permissions.check(issuer, "add_scope", account=account)
    validate("scope", scope)
    lookup.account(account, active_only=True)
    existing = Scope.get_or_none(Scope.scope == scope)
    if existing is not None and existing.status != "DELETED":
        raise exceptions.Duplicate(f"Scope '{scope}' already exists!")
    if existing is not None:
        existing.delete_instance()
    Scope.create(scope=scope, account=account)


def list_scopes(issuer: Issuer) -> list[str]:
    """The names of all live scopes."""
    return [s for (s,) in Scope.select(Scope.scope).where(Scope.status != "DELETED")
            .order_by(Scope.scope).tuples()]


def list_scope_owners(issuer: Issuer) -> list[dict]:
    return [{"scope": s, "account": a} for s, a in
            Scope.select(Scope.scope, Scope.account).where(Scope.status != "DELETED")
            .order_by(Scope.scope).tuples()]


def list_scopes_for_account(issuer: Issuer, account: str) -> list[str]:
    """The account's live scopes; none at all -> ScopeNotFound (the real server's answer)."""
    lookup.account(account)
    scopes = [s for (s,) in Scope.select(Scope.scope).where(
        Scope.account == account, Scope.status != "DELETED").order_by(Scope.scope).tuples()]
    if not scopes:
        raise exceptions.ScopeNotFound(f"No scopes found for account '{account}'")
    return scopes


@atomic
def update_scope(issuer: Issuer, account: str, scope: str) -> None:
    """Change the owner of ``scope`` to ``account``."""
    row = lookup.scope(scope)
    permissions.check(issuer, "update_scope", account=account, scope_owner=row.account)
    lookup.account(account, active_only=True)
    row.account, row.updated_at = account, utcnow()
    row.save()


@atomic
def delete_scope(issuer: Issuer, account: str, scope: str) -> None:
    """The seed's ``DELETE /accounts/{a}/scopes/{s}``: only an empty scope of that account."""
    permissions.check(issuer, "delete_scope", account=account)
    row = lookup.scope(scope)
    if row.account != account:
        raise exceptions.ScopeNotFound(f"Scope '{scope}' does not belong to account '{account}'")
    if DID.select().where(DID.scope == scope).exists():
        raise exceptions.UnsupportedOperation(f"Scope '{scope}' still holds data identifiers")
    row.status, row.deleted_at, row.updated_at = "DELETED", utcnow(), utcnow()
    row.save()
