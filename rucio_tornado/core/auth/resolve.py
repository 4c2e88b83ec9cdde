"""The one way from a verified identity to an account, and from an account to an Issuer.

Every login method (password, certificate, SSH key, external token) ends in
:func:`account_for_identity`; it reads the database on every call, so a removed identity or a
suspended account stops working at once.
"""
import peewee as pw

from rucio_tornado import exceptions
from rucio_tornado.compiled import Compiled, riding, settle_rider
from rucio_tornado.core.auth.x509 import normalise_dn
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import current
from rucio_tornado.models import Account, AccountAttribute, Identity, IdentityAccount

#: identity types under another name: the seed's ``proxy`` is an X509 identity.
TYPE_ALIASES = {"PROXY": "X509"}


def linked_accounts(type_, identity):
    """``[(account, is_default)]`` of a live identity (empty if unknown or removed)."""
    query = (IdentityAccount.select(IdentityAccount.account, IdentityAccount.is_default)
             .join(Identity, on=((Identity.identity == IdentityAccount.identity) &
                                 (Identity.identity_type == IdentityAccount.identity_type)))
             .where(IdentityAccount.identity == identity, IdentityAccount.identity_type == type_,
                    Identity.deleted == False)  # noqa: E712
             .order_by(IdentityAccount.account))
    return list(query.tuples())


def account_for_identity(type_, identity, account=None):
    """The account a verified identity logs in to: ``account`` (``X-Rucio-Account``) if the
    identity is linked to it, else its only or its default account. CannotAuthenticate if the
    identity is unknown, not linked to ``account``, ambiguous, or the account is not ACTIVE."""
    links = linked_accounts(type_, identity)
    if not links:
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate: no account is linked to the {type_} identity {identity}")
    if account is None:
        defaults = [name for name, is_default in links if is_default]
        if len(links) == 1:
            account = links[0][0]
        elif defaults:
            account = defaults[0]
        else:
            raise exceptions.CannotAuthenticate(
                "Cannot authenticate: identity maps to several accounts, none of them default; "
                "pass X-Rucio-Account")
    elif account not in {name for name, _ in links}:
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate to account {account} with given credentials")
    row = Account.get_or_none(Account.account == account)
    if row is None or row.status != "ACTIVE":
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate to account {account} with given credentials")
    return account


def login_identity(type_, identity, account=None):
    """A login with an identity already verified (a certificate's DN): ``(account, identity)``."""
    return account_for_identity(type_, identity, account), identity


#: The token's account: its status and its ``admin`` attribute, one statement compiled once.
_ACCOUNT_STATUS = Compiled(lambda account: (
    Account.select(Account.status, AccountAttribute.value)
    .join(AccountAttribute, pw.JOIN.LEFT_OUTER,
          on=((AccountAttribute.account == Account.account) & (AccountAttribute.key == "admin")))
    .where(Account.account == account).limit(1)))


def issuer_for_account(account):
    """The Issuer for a token's account, or CannotAuthenticate if it is no longer ACTIVE.

    Read on every request (one primary-key statement): a suspended account stops at once."""
    if not isinstance(account, str):
        raise exceptions.CannotAuthenticate("Cannot authenticate with given credentials")
    return _issuer_from(account, _ACCOUNT_STATUS.first(account))


def _issuer_from(account, row):
    """The Issuer of ``account`` from its ``_ACCOUNT_STATUS`` row (None: no such account)."""
    if row is None or row.status != "ACTIVE":
        raise exceptions.CannotAuthenticate("Cannot authenticate with given credentials")
    # attribute values are JSON; "True"/"False" are stored as booleans (accounts.encode_attribute)
    is_admin = account == "root" or row.value == "true"
    return Issuer(account=account, is_admin=is_admin)


def as_account(account, fn, *args, **kwargs):
    """``fn(issuer, *args, **kwargs)`` as the token's ``account``: the issuer check and the work
    in one executor call. Returns ``(issuer, result)``."""
    issuer = issuer_for_account(account)
    return issuer, fn(issuer, *args, **kwargs)


def read_as_account(account, fn, *args, **kwargs):
    """:func:`as_account` for a short read: the account check rides along the read's first
    point read (one statement, one round trip; :func:`~rucio_tornado.compiled.riding`). A
    failed check wins over whatever the read found or raised; ``fn`` gets an issuer whose
    ``is_admin`` makes the check at once. SQLite: :func:`as_account` (two statements in
    process cost it less than the joined one: 0.22 against 0.24 ms of CPU per DID read)."""
    if not current().is_postgresql or not isinstance(account, str):
        return as_account(account, fn, *args, **kwargs)     # (which refuses a non-text one)
    checked = []
    with riding(_ACCOUNT_STATUS, (account,),
                lambda row: checked.append(_issuer_from(account, row))):
        try:
            result = fn(_PendingIssuer(account, checked), *args, **kwargs)
        finally:
            settle_rider()
    return checked[0], result


class _PendingIssuer:
    """A short read's issuer until its account check, riding along the read, is made."""

    def __init__(self, account, checked):
        self.account, self.vo, self._checked = account, Issuer.vo, checked

    @property
    def is_admin(self):
        settle_rider()
        return self._checked[0].is_admin


def issuer_for_identity(type_, identity, account=None):
    """An external credential presented on a request: its account's Issuer."""
    return issuer_for_account(account_for_identity(type_, identity, account))


def canonical_identity(type_, identity):
    """``(type, key)`` as stored and compared: aliases resolved (``proxy`` is X509), X.509 DNs
    in Rucio's slash form whatever form they came in; anything else unchanged."""
    type_ = TYPE_ALIASES.get(type_.upper(), type_.upper()) if isinstance(type_, str) else type_
    if type_ == "X509" and isinstance(identity, str):
        try:
            return type_, normalise_dn(identity)
        except ValueError:
            return type_, identity          # not a DN: stored as given, matches no certificate
    if type_ == "SSH" and isinstance(identity, str):
        return type_, identity.strip()
    return type_, identity
