"""Create the root account and its identities if they do not exist.

Root gets what the real bootstrap gives it: the USERPASS identity (username/password), plus
the X509, GSS and SSH identities passed in ``identities`` (the configured ones). Unlike the
real bootstrap there are no built-in defaults: this server authenticates X509 and SSH, and the
real defaults (the DDMLAB test certificate and SSH key) would let their holders in as root.
"""
from rucio_tornado.core.auth.passwords import hash_password
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


@atomic
def bootstrap(account: str = "root", username: str = "ddmlab", password: str = "secret",
              email: str | None = None, identities=()) -> bool:
    """Idempotent, so every start may call it: returns True if anything was created.
    ``identities``: the configured ``(type, identity)`` pairs (X509, GSS, SSH) root gets
    besides USERPASS, each a default identity of root."""
    created = False
    if Account.get_or_none(Account.account == account) is None:
        Account.create(account=account, account_type="SERVICE", email=email)
        created = True
    created |= _link(account, username, "USERPASS", email, password)
    for type_, identity in identities:
        created |= _link(account, identity, type_, email or BOOTSTRAP_EMAIL)
    return created
