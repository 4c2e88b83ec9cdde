"""Scopes: namespaces of DIDs, each owned by an account."""
from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.core.accounts import get_row as get_account_row
from rucio_tornado.core.common import validate
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, Scope, utcnow


def get_row(scope):
    row = Scope.get_or_none(Scope.scope == scope)
    if row is None or row.status == "DELETED":
        raise exceptions.ScopeNotFound(f"Scope '{scope}' does not exist")
    return row


@atomic
def add_scope(issuer, account, scope):
    permissions.check(issuer, "add_scope", account=account)
    validate("scope", scope)
    get_account_row(account, active_only=True)
    existing = Scope.get_or_none(Scope.scope == scope)
    if existing is not None and existing.status != "DELETED":
        raise exceptions.Duplicate(f"Scope '{scope}' already exists!")
    if existing is not None:
        existing.delete_instance()
    Scope.create(scope=scope, account=account)


def list_scopes(issuer):
    return [s for (s,) in Scope.select(Scope.scope).where(Scope.status != "DELETED")
            .order_by(Scope.scope).tuples()]


def list_scope_owners(issuer):
    return [{"scope": s, "account": a} for s, a in
            Scope.select(Scope.scope, Scope.account).where(Scope.status != "DELETED")
            .order_by(Scope.scope).tuples()]


def list_scopes_for_account(issuer, account):
    get_account_row(account)
    scopes = [s for (s,) in Scope.select(Scope.scope).where(
        Scope.account == account, Scope.status != "DELETED").order_by(Scope.scope).tuples()]
    if not scopes:
        raise exceptions.ScopeNotFound(f"No scopes found for account '{account}'")
    return scopes


@atomic
def update_scope(issuer, account, scope):
    """Change the owner of ``scope`` to ``account``."""
    permissions.check(issuer, "update_scope", account=account)
    get_account_row(account, active_only=True)
    row = get_row(scope)
    row.account, row.updated_at = account, utcnow()
    row.save()


@atomic
def delete_scope(issuer, account, scope):
    """The seed's ``DELETE /accounts/{a}/scopes/{s}``: only an empty scope of that account."""
    permissions.check(issuer, "delete_scope", account=account)
    row = get_row(scope)
    if row.account != account:
        raise exceptions.ScopeNotFound(f"Scope '{scope}' does not belong to account '{account}'")
    if DID.select().where(DID.scope == scope).exists():
        raise exceptions.UnsupportedOperation(f"Scope '{scope}' still holds data identifiers")
    row.status, row.deleted_at, row.updated_at = "DELETED", utcnow(), utcnow()
    row.save()
