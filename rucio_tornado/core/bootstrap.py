"""Create the root account and its identities if they do not exist.

Root gets what the real bootstrap gives it: the USERPASS identity (username/password), plus
the X509, GSS and SSH identities passed in ``identities`` (the configured ones). Unlike the
real bootstrap there are no built-in defaults: this server authenticates X509 and SSH, and the
real defaults (the DDMLAB test certificate and SSH key) would let their holders in as root.

Production (``apply_password``): the configured password also replaces the stored one of an
existing root identity when it differs, so that a database first bootstrapped by a development
server (``ddmlab``/``secret``) never keeps that password.
"""
from rucio_tornado.core.auth.passwords import hash_password, verify_password
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, Identity, IdentityAccount

BOOTSTRAP_EMAIL = "ph-adp-ddm-lab@cern.ch"     # the real bootstrap's email for them


def _link(account, identity, type_, email, password=None):
    """Create the identity and its default link to ``account`` if missing; True if created."""
    created = False
    if Identity.get_or_none(identity=identity, identity_type=type_) is None:
        Identity.create(identity=identity, identity_type=type_, email=email,
                        password_hash=hash_password(password) if password else None)
        created = True
    if IdentityAccount.get_or_none(identity=identity, identity_type=type_,
                                   account=account) is None:
        IdentityAccount.create(identity=identity, identity_type=type_, account=account,
                               is_default=True)
        created = True
    return created


def _apply_password(username, password):
    """The configured password replaces a different stored one; True if it did."""
    identity = Identity.get_or_none(identity=username, identity_type="USERPASS")
    if identity is None or verify_password(password, identity.password_hash):
        return False
    Identity.update(password_hash=hash_password(password)).where(
        Identity.identity == username, Identity.identity_type == "USERPASS").execute()
    return True


@atomic
def bootstrap(account: str = "root", username: str = "ddmlab", password: str = "secret",
              email: str | None = None, identities=(), apply_password: bool = False) -> bool:
    """Idempotent, so every start may call it: returns True if anything was created (or, with
    ``apply_password``, the stored password replaced). ``identities``: the configured
    ``(type, identity)`` pairs (X509, GSS, SSH) root gets besides USERPASS, each a default
    identity of root."""
    created = False
    if Account.get_or_none(Account.account == account) is None:
        Account.create(account=account, account_type="SERVICE", email=email)
        created = True
    created |= _link(account, username, "USERPASS", email, password)
    if apply_password:
        created |= _apply_password(username, password)
    for type_, identity in identities:
        created |= _link(account, identity, type_, email or BOOTSTRAP_EMAIL)
    return created
