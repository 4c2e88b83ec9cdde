"""The OIDC login flows of the real server (authorization code, with polling or a fetch code)
against one configured identity provider (``oidc_login_issuer``, ``oidc_client_id``,
``oidc_client_secret``); the token a login ends with is ours, for the account of the verified
OIDC identity ``SUB=<sub>, ISS=<iss>``.

1. ``GET /auth/oidc`` (:func:`start_login`): a login row (state, nonce, a random code); the
   client is given ``<public url>/auth/oidc_redirect?<code>`` (``_polling`` appended when it
   polls).
2. The browser opens it (:func:`redirect_target`): 303 to the IdP's authorization endpoint.
3. The IdP sends the browser to ``/auth/oidc_code?code=&state=``: :class:`Provider` exchanges
   the code at the token endpoint (client_secret_basic), checks the ID token (signature by the
   IdP's JWKS, ``iss``, ``aud`` = our client id, ``exp``, ``nonce``), and :func:`grant` stores our
   token in the row: under the same code for a polling client, under a new fetch code (shown
   on the page) otherwise.
4. The client fetches it: ``/auth/oidc_redirect?<code>`` with ``X-Rucio-Client-Fetch-Token:
   True`` (:func:`fetch_token`); a row is used once.
``/auth/oidc_refresh`` (:func:`refresh_grant` + :meth:`Provider.refresh`): a token of a login for
which the IdP gave a refresh token is exchanged for a new one while the IdP still agrees.

The database parts run in the executor; the IdP is called on the IOLoop (Tornado's client).
"""
import base64
import datetime
import json
import secrets
from urllib.parse import parse_qs, urlencode

import jwt

from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.auth import resolve
from rucio_tornado.core.auth.oidc import DISCOVERY, KeySet, check_url
from rucio_tornado.db import atomic
from rucio_tornado.models import OIDCLogin, utcnow

POLLING = "_polling"
#: Hours a login's refresh token is kept (Rucio's REFRESH_LIFETIME_H).
REFRESH_LIFETIME_H = 96
LOGIN_FAILED = "Cannot authorize your access, please check your access credentials"


def _code(length=40):
    return secrets.token_urlsafe(length)[:length]


def _refused(account=None):
    return exceptions.CannotAuthenticate(
        f"Cannot get authentication URL from Rucio Authentication Server for account {account}")


# -- the database side (executor) --------------------------------------------------------------
@atomic
def start_login(account: str | None, scope: str, polling: bool, authorization_endpoint: str,
                client_id: str, public_url: str, base_scope: str, lifetime: int,
                audience: str | None = None) -> str:
    """A new login row; the URL the client hands to the browser. ``scope`` must hold every
    scope of ``base_scope`` (Rucio's minimal requirement); an unknown account is refused."""
    if account is not None:
        try:
            lookup.account(account, active_only=True)
        except exceptions.AccountNotFound:
            raise _refused(account) from None
    requested = (scope or "").split() or base_scope.split()
    if not set(base_scope.split()) <= set(requested):
        raise exceptions.CannotAuthenticate(
            "Requirements of scope and audience do not satisfy minimal requirements of the "
            "Rucio server.")
    now = utcnow()
    OIDCLogin.delete().where(OIDCLogin.expires_at < now, (
        OIDCLogin.refresh_expires_at.is_null() | (OIDCLogin.refresh_expires_at < now))).execute()
    state, nonce = _code(48), _code(48)
    access_msg = _code(24) + (POLLING if polling else "")
    params = {"response_type": "code", "client_id": client_id, "scope": " ".join(requested),
              "redirect_uri": public_url + "/auth/oidc_code", "state": state, "nonce": nonce}
    if audience:
        params["audience"] = audience
    OIDCLogin.insert(state=state, nonce=nonce, access_msg=access_msg, account=account,
                     polling=polling, auth_url=authorization_endpoint + "?" + urlencode(params),
                     expires_at=now + datetime.timedelta(seconds=lifetime)).execute()
    return f"{public_url}/auth/oidc_redirect?{access_msg}"


def _live(**where):
    row = OIDCLogin.get_or_none(**where)
    return row if row is not None and row.expires_at > utcnow() else None


def redirect_target(access_msg: str) -> str:
    """The IdP URL of a started login not yet granted; CannotAuthenticate otherwise."""
    row = _live(access_msg=access_msg)
    if row is None or row.token is not None:
        raise exceptions.CannotAuthenticate(LOGIN_FAILED)
    return row.auth_url


@atomic
def fetch_token(access_msg: str) -> str:
    """Our token of a granted login, once (the code is spent); CannotAuthenticate while the
    login is not granted or when the code is unknown."""
    row = _live(access_msg=access_msg)
    if row is None or row.token is None:
        raise exceptions.CannotAuthenticate(
            "Cannot finalize your token request, no authorization content returned from the "
            "auth server")
    OIDCLogin.update(access_msg=_code(24) + "_spent", token=None).where(
        OIDCLogin.state == row.state).execute()
    return row.token


def login_of(state: str) -> tuple[str, str | None]:
    """``(nonce, account)`` of a started login not yet granted; CannotAuthenticate otherwise."""
    row = _live(state=state) if isinstance(state, str) else None
    if row is None or row.token is not None or row.access_msg.endswith("_spent"):
        raise exceptions.CannotAuthenticate(
            "User related Rucio OIDC session could not keep track of responses from "
            "outstanding requests.")
    return row.nonce, row.account


def account_of(identity: str, account: str | None) -> str:
    """The account the verified OIDC identity logs in to (CannotAuthenticate otherwise)."""
    return resolve.account_for_identity("OIDC", identity, account)


@atomic
def grant(state: str, token: str, jti: str, refresh_token: str | None) -> str | None:
    """Store our token in the login; the fetch code the page shows (None when polling)."""
    row = OIDCLogin.get_by_id(state)
    fetchcode = None if row.polling else _code(40)
    keep = utcnow() + datetime.timedelta(hours=REFRESH_LIFETIME_H) if refresh_token else None
    OIDCLogin.update(token=token, token_jti=jti, refresh_token=refresh_token,
                     refresh_expires_at=keep,
                     access_msg=row.access_msg if row.polling else fetchcode).where(
        OIDCLogin.state == state).execute()
    return fetchcode


def refresh_grant(jti: str) -> tuple[str, str] | None:
    """``(state, IdP refresh token)`` of the login that issued the token ``jti``, if any."""
    row = OIDCLogin.get_or_none(OIDCLogin.token_jti == jti)
    if row is None or not row.refresh_token or row.refresh_expires_at is None or \
            row.refresh_expires_at < utcnow():
        return None
    return row.state, row.refresh_token


@atomic
def rotate(state: str, jti: str, refresh_token: str) -> None:
    """The login now refreshes the new token ``jti`` (with the IdP's new refresh token)."""
    OIDCLogin.update(token_jti=jti, refresh_token=refresh_token).where(
        OIDCLogin.state == state).execute()


def parse_callback(query: str) -> tuple[str, str]:
    """``(code, state)`` of the IdP's redirect query; InvalidValue if either is missing."""
    values = parse_qs(query or "")
    if "error" in values:
        raise exceptions.CannotAuthenticate(f"The identity provider refused: {values['error'][0]}")
    try:
        return values["code"][0], values["state"][0]
    except (KeyError, IndexError):
        raise exceptions.InvalidValue("code and state must be set") from None


# -- the identity provider (IOLoop) ----------------------------------------------------------
class Provider:
    """The configured IdP: endpoints from its discovery document, keys from its JWKS."""

    def __init__(self, issuer, client_id, client_secret, leeway=60, refresh=3600.0):
        self.issuer, self.client_id, self.client_secret = issuer, client_id, client_secret
        self.leeway = leeway
        self.keys = KeySet(issuer, "", refresh)
        self._endpoints = None

    @classmethod
    def from_settings(cls, settings):
        """None when the login flows are not configured."""
        if not (settings.oidc_login_issuer and settings.oidc_client_id):
            return None
        return cls(settings.oidc_login_issuer, settings.oidc_client_id,
                   settings.oidc_client_secret, settings.oidc_leeway, settings.oidc_jwks_refresh)

    async def endpoints(self):
        if self._endpoints is None:
            document = await _request(self.issuer.rstrip("/") + DISCOVERY)
            self._endpoints = {key: check_url(document[key])
                               for key in ("authorization_endpoint", "token_endpoint")}
        return self._endpoints

    async def exchange(self, code, redirect_uri, nonce):
        """The verified ID-token claims and the refresh token (or None) of an authorization
        code; CannotAuthenticate for anything the IdP or the ID token does not confirm."""
        answer = await self._token_request({"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": redirect_uri})
        claims = await self.verify_id_token(answer.get("id_token"))
        if claims.get("nonce") != nonce:
            raise exceptions.CannotAuthenticate(
                "ID token could not be associated with the Rucio OIDC Client session")
        return claims, answer.get("refresh_token")

    async def refresh(self, refresh_token):
        """``(claims, new refresh token)`` of a refresh-token grant."""
        answer = await self._token_request({"grant_type": "refresh_token",
                                            "refresh_token": refresh_token})
        claims = await self.verify_id_token(answer.get("id_token")) if answer.get("id_token") \
            else None
        return claims, answer.get("refresh_token") or refresh_token

    async def verify_id_token(self, id_token):
        if not isinstance(id_token, str):
            raise exceptions.CannotAuthenticate("The identity provider gave no ID token")
        try:
            header = jwt.get_unverified_header(id_token)
            key = await self.keys.key(header.get("kid"))
            if key is None:
                raise exceptions.CannotAuthenticate("The ID token's key is not the provider's")
            return jwt.decode(id_token, key.key, algorithms=["RS256", "ES256"],
                              audience=self.client_id, issuer=self.issuer, leeway=self.leeway,
                              options={"require": ["exp", "iat", "iss", "sub", "aud"]})
        except jwt.PyJWTError as exc:
            raise exceptions.CannotAuthenticate(f"The ID token is not valid: {exc}") from None

    async def _token_request(self, form):
        endpoint = (await self.endpoints())["token_endpoint"]
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return await _request(endpoint, method="POST", body=urlencode(form),
                              headers={"Authorization": f"Basic {basic}",
                                       "Content-Type": "application/x-www-form-urlencoded"})


async def _request(url, **kwargs):
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError
    try:
        response = await AsyncHTTPClient().fetch(url, request_timeout=10, follow_redirects=False,
                                                 **kwargs)
        return json.loads(response.body)
    except (HTTPClientError, OSError, ValueError) as exc:
        raise exceptions.CannotAuthenticate(
            f"The identity provider cannot be reached or refused: {exc}") from None
