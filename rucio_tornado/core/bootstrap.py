"""Create the root account and its USERPASS identity if they do not exist."""
from rucio_tornado.core.auth.passwords import hash_password
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, Identity, IdentityAccount


@atomic
def bootstrap(account: str = "root", username: str = "ddmlab", password: str = "secret",
              email: str | None = None) -> bool:
    """Idempotent, so every start may call it: returns True if anything was created."""
    created = False
    if Account.get_or_none(Account.account == account) is None:
        Account.create(account=account, account_type="SERVICE", email=email)
        created = True
    if Identity.get_or_none(identity=username, identity_type="USERPASS") is None:
        Identity.create(identity=username, identity_type="USERPASS", email=email,
                        password_hash=hash_password(password))
        created = True
    if IdentityAccount.get_or_none(identity=username, identity_type="USERPASS",
                                   account=account) is None:
        IdentityAccount.create(identity=username, identity_type="USERPASS", account=account,
                               is_default=True)
        created = True
    return created
