"""Create the root account and its USERPASS identity if they do not exist.

Production (``apply_password``): the configured password also replaces the stored one of an
existing root identity when it differs, so that a database first bootstrapped by a development
server (``ddmlab``/``secret``) never keeps that password; ``root_password`` in the
configuration is the root identity's password, applied at every ``serve`` and ``bootstrap``.
"""
from rucio_tornado.core.auth.passwords import hash_password, verify_password
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, Identity, IdentityAccount


@atomic
def bootstrap(account: str = "root", username: str = "ddmlab", password: str = "secret",
              email: str | None = None, apply_password: bool = False) -> bool:
    """Idempotent, so every start may call it: returns True if anything was created (or, with
    ``apply_password``, the stored password replaced)."""
    created = False
    if Account.get_or_none(Account.account == account) is None:
        Account.create(account=account, account_type="SERVICE", email=email)
        created = True
    identity = Identity.get_or_none(identity=username, identity_type="USERPASS")
    if identity is None:
        Identity.create(identity=username, identity_type="USERPASS", email=email,
                        password_hash=hash_password(password))
        created = True
    elif apply_password and not verify_password(password, identity.password_hash):
        Identity.update(password_hash=hash_password(password)).where(
            Identity.identity == username, Identity.identity_type == "USERPASS").execute()
        created = True
    if IdentityAccount.get_or_none(identity=username, identity_type="USERPASS",
                                   account=account) is None:
        IdentityAccount.create(identity=username, identity_type="USERPASS", account=account,
                               is_default=True)
        created = True
    return created
