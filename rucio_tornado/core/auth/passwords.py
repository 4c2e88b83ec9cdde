"""USERPASS: salted scrypt password hashes and the username/password login."""
import base64
import hashlib
import hmac
import os

from rucio_tornado import exceptions
from rucio_tornado.core.auth.resolve import account_for_identity
from rucio_tornado.models import Identity

#: scrypt work factor of new password hashes (stored in each hash; the test suite lowers it).
PASSWORD_COST = 2 ** 14
_SCRYPT = {"r": 8, "p": 1}


def hash_password(password):
    """Salted scrypt hash, stored as ``scrypt$<n>$<salt b64>$<hash b64>``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=PASSWORD_COST, **_SCRYPT)
    return (f"scrypt${PASSWORD_COST}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def verify_password(password, stored):
    """True if ``password`` matches ``stored`` (also the ``scrypt$<salt>$<hash>`` form of the
    first release, whose work factor was 2**14)."""
    parts = stored.split("$") if isinstance(stored, str) else []
    if len(parts) == 3:
        parts.insert(1, str(2 ** 14))
    if len(parts) != 4 or parts[0] != "scrypt" or not parts[1].isdigit():
        return False
    try:
        salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        computed = hashlib.scrypt(password.encode(), salt=salt, n=int(parts[1]), **_SCRYPT)
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)


def authenticate_userpass(username, password, account=None):
    """Check a username/password and pick the account: ``(account, username)``. The web
    layer runs the same steps with the hashing off the database executor (``web/auth.py``)."""
    stored = password_hash_of(username, password, account)
    check_password(password, stored, username, account)
    return account_of_login(username, account)


def password_hash_of(username, password, account=None):
    """The stored hash of a live USERPASS identity (database); CannotAuthenticate for missing
    arguments, UnknownIdentity (401) for an unknown identity."""
    if not username or not password or not isinstance(username, str) \
            or not isinstance(password, str) or not isinstance(account, (str, type(None))):
        raise exceptions.CannotAuthenticate(
            "Cannot authenticate without passing all required arguments")
    identity = Identity.get_or_none(identity=username, identity_type="USERPASS", deleted=False)
    if identity is None:
        if account:
            raise exceptions.CannotAuthenticate(
                f"Cannot authenticate to account {account} with given credentials")
        raise exceptions.UnknownIdentity("Cannot authenticate. The identity does not exist.")
    return identity.password_hash


def check_password(password, stored, username, account=None):
    """CPU only (scrypt): CannotAuthenticate unless ``password`` matches ``stored``."""
    if not verify_password(password, stored):
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate to account {account or username} with given credentials")


def account_of_login(username, account=None):
    """After a verified password: ``(account, username)`` (database)."""
    return account_for_identity("USERPASS", username, account), username
