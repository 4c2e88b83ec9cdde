"""Authentication: password hashing, JWT tokens, and turning a token into an :class:`Issuer`."""
import base64
import datetime
import hashlib
import hmac
import os
import secrets
import uuid
from pathlib import Path

import jwt

from rucio_tornado import exceptions
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.models import (
    Account,
    AccountAttribute,
    Identity,
    IdentityAccount,
    utcnow,
)

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


class TokenService:
    """Issues and verifies JWTs. Any process holding the key verifies any process's tokens."""

    def __init__(self, signing_key, verify_key=None, algorithm="HS256", lifetime=3600):
        self.signing_key = signing_key
        self.verify_key = verify_key or signing_key
        self.algorithm = algorithm
        self.lifetime = lifetime

    @classmethod
    def from_settings(cls, settings):
        algorithm = settings.jwt_algorithm
        if algorithm == "RS256":
            private = Path(settings.jwt_private_key_file).read_text() \
                if settings.jwt_private_key_file else None
            public = Path(settings.jwt_public_key_file).read_text()
            return cls(private, public, "RS256", settings.token_lifetime)
        secret = settings.jwt_secret or development_secret(settings.data_dir)
        return cls(secret, secret, algorithm, settings.token_lifetime)

    def issue(self, account, identity=None):
        """A token for ``account``: ``(token, expires_at)``."""
        if self.signing_key is None:
            raise exceptions.ConfigurationError("this process holds no signing key")
        now = utcnow().replace(microsecond=0)
        expires = now + datetime.timedelta(seconds=self.lifetime)
        claims = {"sub": account, "iat": _epoch(now), "exp": _epoch(expires),
                  "jti": uuid.uuid4().hex}
        if identity:
            claims["identity"] = identity
        return jwt.encode(claims, self.signing_key, algorithm=self.algorithm), expires

    def decode(self, token):
        """The claims of a valid token; CannotAuthenticate for anything else (incl. alg none)."""
        try:
            claims = jwt.decode(token, self.verify_key, algorithms=[self.algorithm],
                                options={"require": ["sub", "iat", "exp", "jti"]})
        except jwt.PyJWTError as exc:
            raise exceptions.CannotAuthenticate(
                "Cannot authenticate with given credentials") from exc
        if not isinstance(claims.get("sub"), str):
            raise exceptions.CannotAuthenticate("Cannot authenticate with given credentials")
        return claims


def development_secret(data_dir):
    """Development mode: a random key generated on first start, kept in the data folder."""
    path = Path(data_dir) / "jwt.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _epoch(dt):
    return int(dt.replace(tzinfo=datetime.UTC).timestamp())


def authenticate_userpass(username, password, account=None):
    """Check a username/password and pick the account; returns the account name."""
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
    if not verify_password(password, identity.password_hash):
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate to account {account or username} with given credentials")
    links = list(IdentityAccount.select().where(
        IdentityAccount.identity == username, IdentityAccount.identity_type == "USERPASS"))
    if account is None:
        defaults = [link.account for link in links if link.is_default]
        if len(links) == 1:
            account = links[0].account
        elif defaults:
            account = defaults[0]
        else:
            raise exceptions.CannotAuthenticate(
                "Cannot authenticate: identity maps to several accounts, none of them default; "
                "pass X-Rucio-Account")
    elif account not in {link.account for link in links}:
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate to account {account} with given credentials")
    row = Account.get_or_none(Account.account == account)
    if row is None or row.status != "ACTIVE":
        raise exceptions.CannotAuthenticate(
            f"Cannot authenticate to account {account} with given credentials")
    return account


def issuer_for_account(account):
    """The Issuer for a token's account, or CannotAuthenticate if it is no longer ACTIVE."""
    row = Account.select(Account.status).where(Account.account == account).first()
    if row is None or row.status != "ACTIVE":
        raise exceptions.CannotAuthenticate("Cannot authenticate with given credentials")
    admin = AccountAttribute.select(AccountAttribute.value).where(
        AccountAttribute.account == account, AccountAttribute.key == "admin").first()
    # attribute values are JSON; "True"/"False" are stored as booleans (accounts.encode_attribute)
    is_admin = account == "root" or (admin is not None and admin.value == "true")
    return Issuer(account=account, is_admin=is_admin)
