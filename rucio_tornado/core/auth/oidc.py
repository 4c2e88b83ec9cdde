"""External OIDC / WLCG tokens: JWTs of a configured identity provider, presented as
``X-Rucio-Auth-Token`` (or ``Authorization: Bearer``) on any route.

A token is accepted when its ``iss`` is one of ``oidc_issuers``, its signature verifies (RS256 or
ES256 only) with a key of that issuer's JWKS named by its ``kid``, ``exp``/``nbf``/``iat`` hold
within ``oidc_leeway`` seconds, its ``aud`` contains ``oidc_audience``, and an identity of type
OIDC ``SUB=<sub>, ISS=<iss>`` links it to an account (:mod:`.resolve`, on every request).

JWKS: a local file, an https URL, or (none given) the ``jwks_uri`` of the issuer's discovery
document ``<iss>/.well-known/openid-configuration``. Keys are cached and read again after
``oidc_jwks_refresh`` seconds, or when a token names an unknown ``kid`` (at most every
:data:`MIN_REFETCH` seconds for URLs, so unknown kids cannot make us hammer the provider).
Fetching runs on the IOLoop (Tornado's async HTTP client), never in the database executor.
"""
import asyncio
import json
import time
from pathlib import Path

import jwt

from rucio_tornado import exceptions
from rucio_tornado.config import LOOPBACK, check_url, parse_issuers  # noqa: F401  (oidc's API)

ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}      # algorithm -> JWK key type
MIN_REFETCH = 10.0
DISCOVERY = "/.well-known/openid-configuration"


class KeySet:
    """The signing keys of one issuer, cached."""

    def __init__(self, issuer, location, refresh=3600.0):
        self.issuer, self.location, self.refresh = issuer, location, refresh
        self.is_url = not location or "://" in location
        self.keys, self.loaded_at, self._lock = {}, None, None

    async def key(self, kid):
        """The PyJWK of ``kid`` (None: the issuer has no such key). Without a kid, the only key."""
        now = time.monotonic()
        stale = self.loaded_at is None or now - self.loaded_at > self.refresh
        unknown = kid not in self.keys if kid else len(self.keys) != 1
        if stale or (unknown and now - self.loaded_at > (MIN_REFETCH if self.is_url else 0)):
            await self.load()
        if kid:
            return self.keys.get(kid)
        return next(iter(self.keys.values())) if len(self.keys) == 1 else None

    async def load(self):
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                data = await self._read()
                keys = jwt.PyJWKSet.from_dict(data).keys
            except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
                self.loaded_at = time.monotonic()   # keep the old keys; retry later
                raise exceptions.CannotAuthenticate(
                    f"Cannot authenticate: the keys of {self.issuer} are unavailable") from exc
            self.keys = {key.key_id: key for key in keys if key.key_type in ALGORITHMS.values()}
            self.loaded_at = time.monotonic()

    async def _read(self):
        if not self.is_url:
            return json.loads(Path(self.location).read_text())
        url = self.location
        if not url:
            url = check_url((await _fetch_json(self.issuer.rstrip("/") + DISCOVERY))["jwks_uri"])
        return await _fetch_json(url)


async def _fetch_json(url):
    from tornado.httpclient import AsyncHTTPClient
    response = await AsyncHTTPClient().fetch(url, request_timeout=10, follow_redirects=False)
    return json.loads(response.body)


class ExternalTokens:
    """Validates external tokens; :meth:`recognises` says which tokens are meant for it."""

    def __init__(self, issuers, audience="rucio", leeway=60, refresh=3600.0):
        self.keysets = {iss: KeySet(iss, location, refresh) for iss, location in issuers.items()}
        self.audience, self.leeway = audience, leeway

    @classmethod
    def from_settings(cls, settings):
        """None when no issuer is configured."""
        issuers = parse_issuers(settings.oidc_issuers)
        if not issuers:
            return None
        return cls(issuers, settings.oidc_audience, settings.oidc_leeway,
                   settings.oidc_jwks_refresh)

    def recognises(self, token):
        """True if ``token`` (unverified) claims to come from a configured issuer."""
        return _unverified_issuer(token) in self.keysets

    async def validate(self, token):
        """The verified claims of ``token``; CannotAuthenticate with the reason otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise _refused(f"algorithm {algorithm!r} is not accepted")
        issuer = _unverified_issuer(token)
        keyset = self.keysets.get(issuer)
        if keyset is None:
            raise _refused("unknown issuer")
        key = await keyset.key(header.get("kid"))
        if key is None or getattr(key, "algorithm_name", None) != algorithm:
            raise _refused("the signing key is not one of the issuer's")
        try:
            claims = jwt.decode(token, key.key, algorithms=[algorithm], audience=self.audience,
                                issuer=issuer, leeway=self.leeway,
                                options={"require": ["exp", "iat", "iss", "sub", "aud"]})
        except jwt.PyJWTError as exc:
            raise _refused(str(exc)) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise _refused("no subject")
        return claims

    @staticmethod
    def identity(claims):
        """The OIDC identity key of verified claims, as Rucio writes it."""
        return f"SUB={claims['sub']}, ISS={claims['iss']}"


def _unverified_issuer(token):
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return issuer if isinstance(issuer, str) else None


def _refused(reason):
    return exceptions.CannotAuthenticate(f"Cannot authenticate with given credentials: {reason}")
