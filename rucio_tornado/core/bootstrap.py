"""Create the root account and its identities if they do not exist.

Root gets the identities the real bootstrap gives it: the USERPASS one (username/password),
plus an X509, a GSS and an SSH identity, by default the real bootstrap's own (this server only
authenticates USERPASS, so they are records, as ``list_identities``/``list_accounts`` show).
"""
from rucio_tornado.core.auth import hash_password
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, Identity, IdentityAccount

BOOTSTRAP_EMAIL = "ph-adp-ddm-lab@cern.ch"
#: ``(type, identity)`` of the real bootstrap's default X509, GSS and SSH identities.
DEFAULT_IDENTITIES = (
    ("X509", "/C=CH/ST=Geneva/O=CERN/OU=PH-ADP-CO/CN=DDMLAB Client Certificate/"
             "emailAddress=ph-adp-ddm-lab@cern.ch"),
    ("GSS", "ddmlab@CERN.CH"),
    ("SSH", "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEAq5LySllrQFpPL614sulXQ7wnIr1aGhGtl8b+HCB/"
            "0FhMSMTHwSjX78UbfqEorZV16rXrWPgUpvcbp2hqctw6eCbxwqcgu3uGWaeS5A0iWRw7oXUh6ydn"
            "Vy89zGzX1FJFFDZ+AgiZ3ytp55tg1bjqqhK1OSC0pJxdNe878TRVVo5MLI0S/rZY2UovCSGFaQG2"
            "iLj14wz/YqI7NFMUuJFR4e6xmNsOP7fCZ4bGMsmnhR0GmY0dWYTupNiP5WdYXAfKExlnvFLTlDI5"
            "Mgh4Z11NraQ8pv4YE1woolYpqOc/IMMBBXFniTT4tC7cgikxWb9ZmFe+r4t6yCDpX4IL8L5GOQ== ddmlab"),
)


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
              email: str | None = None, identities=DEFAULT_IDENTITIES) -> bool:
    """Idempotent, so every start may call it: returns True if anything was created.
    ``identities``: the ``(type, identity)`` pairs root gets besides USERPASS."""
    created = False
    if Account.get_or_none(Account.account == account) is None:
        Account.create(account=account, account_type="SERVICE", email=email)
        created = True
    created |= _link(account, username, "USERPASS", email, password)
    for type_, identity in identities:
        created |= _link(account, identity, type_, email or BOOTSTRAP_EMAIL)
    return created
