"""The one way to find a thing by its name or id, or answer its Rucio 404.

Every core module looks accounts, scopes, RSEs, DIDs, rules and subscriptions up here, so the
"not found" class and message of each kind are the same wherever it is asked for.
"""
from rucio_tornado import exceptions
from rucio_tornado.compiled import Compiled
from rucio_tornado.models import DID, RSE, Account, RSEAttribute, Rule, Scope, Subscription

HEX = frozenset("0123456789abcdefABCDEF")


def is_id(value):
    """True for a 32-hex-digit id (rules, subscriptions)."""
    return isinstance(value, str) and len(value) == 32 and all(c in HEX for c in value)


#: The point reads of the small requests, compiled once (see rucio_tornado/compiled.py); they
#: give read-only rows (namedtuples with the model's column names), never model instances.
_ACCOUNT = Compiled(lambda name: Account.select().where(Account.account == name).limit(1))
_RSE = Compiled(lambda name: RSE.select().where(
    RSE.rse == name, RSE.deleted == False).limit(1))  # noqa: E712
_DID = Compiled(lambda scope_name, name: DID.select().where(
    DID.scope == scope_name, DID.name == name).limit(1))


def account_read(name):
    """:func:`account` as a read-only row (deleted and suspended accounts included)."""
    row = _ACCOUNT.first(name) if isinstance(name, str) else None
    if row is None:
        raise _no_account(name)
    return row


def rse_read(name):
    """:func:`rse` as a read-only row."""
    row = _RSE.first(name) if isinstance(name, str) else None
    if row is None:
        raise _no_rse(name)
    return row


def did_read(scope_name, name):
    """:func:`did` as a read-only row of every column."""
    row = _DID.first(scope_name, name) \
        if isinstance(scope_name, str) and isinstance(name, str) else None
    if row is None:
        raise _no_did(scope_name, name)
    return row


def _no_account(name):
    return exceptions.AccountNotFound(f"Account with ID '{name}' cannot be found")


def _no_rse(name):
    return exceptions.RSENotFound(f"RSE '{name}' cannot be found")


def _no_did(scope_name, name):
    return exceptions.DataIdentifierNotFound(f"Data identifier '{scope_name}:{name}' not found")


def account(name, active_only=False) -> Account:
    """The Account row; AccountNotFound (deleted and suspended ones too if ``active_only``)."""
    row = Account.get_or_none(Account.account == name) if isinstance(name, str) else None
    if row is None or (active_only and row.status != "ACTIVE"):
        raise _no_account(name)
    return row


def scope(name) -> Scope:
    """The live Scope row; ScopeNotFound."""
    row = Scope.get_or_none(Scope.scope == name) if isinstance(name, str) else None
    if row is None or row.status == "DELETED":
        raise exceptions.ScopeNotFound(f"Scope '{name}' does not exist")
    return row


def rse(name) -> RSE:
    """The non-deleted RSE called ``name``; RSENotFound."""
    live = RSE.deleted == False  # noqa: E712
    row = RSE.get_or_none((RSE.rse == name) & live) if isinstance(name, str) else None
    if row is None:
        raise _no_rse(name)
    return row


def rse_attribute(rse_row: RSE, key) -> RSEAttribute:
    """The attribute ``key`` of this RSE row; RSEAttributeNotFound."""
    row = RSEAttribute.get_or_none(rse_id=rse_row.id, key=key) if isinstance(key, str) else None
    if row is None:
        raise exceptions.RSEAttributeNotFound(
            f"RSE attribute '{key}' not found for RSE '{rse_row.rse}'")
    return row


def did(scope_name, name, *fields) -> DID:
    """The DID row (only ``fields`` if given); DataIdentifierNotFound."""
    query = DID.select(*fields) if fields else DID.select()
    row = query.where(DID.scope == scope_name, DID.name == name).first() \
        if isinstance(scope_name, str) and isinstance(name, str) else None
    if row is None:
        raise _no_did(scope_name, name)
    return row


def rule(rule_id) -> Rule:
    """The Rule row; RuleNotFound, also for ids that are not 32 hex digits."""
    row = Rule.get_or_none(Rule.id == rule_id.lower()) if is_id(rule_id) else None
    if row is None:
        raise exceptions.RuleNotFound(f"No replication rule found with the id {rule_id}")
    return row


def subscription(account_name, name) -> Subscription:
    """The Subscription of ``account_name`` called ``name``; SubscriptionNotFound."""
    row = Subscription.get_or_none(Subscription.account == account_name,
                                   Subscription.name == name)
    if row is None:
        raise exceptions.SubscriptionNotFound(
            f"Subscription for account '{account_name}' named '{name}' not found")
    return row


def subscription_by_id(subscription_id) -> Subscription:
    """The Subscription with this id; SubscriptionNotFound."""
    row = Subscription.get_or_none(Subscription.id == subscription_id.lower()) \
        if is_id(subscription_id) else None
    if row is None:
        raise exceptions.SubscriptionNotFound(f"Subscription with id {subscription_id} not found")
    return row
