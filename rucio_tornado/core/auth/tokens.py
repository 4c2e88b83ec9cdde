"""Our own tokens: JWTs signed with the configured key (HS256 or RS256)."""
import datetime
import os
import secrets
import time
import uuid
from pathlib import Path

import jwt

from rucio_tornado import exceptions
from rucio_tornado.models import utcnow


#: Tokens whose signature and claims were verified, kept for their next requests (per process).
VERIFIED_TOKENS_KEPT = 4096


class TokenService:
    """Issues and verifies JWTs. Any process holding the key verifies any process's tokens.

    A token verified once is remembered (its exact text, up to VERIFIED_TOKENS_KEPT of them):
    its next requests skip the signature check and only check that it has not expired. Only the
    token is cached, never the account: the account's status is read on every request."""

    def __init__(self, signing_key, verify_key=None, algorithm="HS256", lifetime=3600):
        self.signing_key = signing_key
        self.verify_key = verify_key or signing_key
        self.algorithm = algorithm
        self.lifetime = lifetime
        self._verified = {}

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
        claims = self._verified.get(token)
        if claims is not None:
            if claims["exp"] > time.time():     # as PyJWT: expired once exp <= now
                return claims
            self._verified.pop(token, None)
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token):
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
