"""Ping and authentication: every login route goes through :meth:`LoginHandler.login`."""
import asyncio
from datetime import UTC, datetime

from rucio_tornado import RUCIO_API_VERSION, __version__, exceptions
from rucio_tornado.core.auth import passwords, resolve, ssh, x509
from rucio_tornado.core.common import RFC1123
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj
from rucio_tornado.web.security import from_trusted_proxy

NO_CACHE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
            "Pragma": "no-cache"}


class PingHandler(BaseHandler):
    auth_required = False

    def get(self):
        self.send_json({"version": RUCIO_API_VERSION, "server": f"rucio-tornado {__version__}"})


class LoginHandler(BaseHandler):
    """Shared by the login routes: check credentials, issue a token, never cache the answer."""
    auth_required = False

    @property
    def requested_account(self):
        return self.request.headers.get("X-Rucio-Account") or None

    async def login(self, authenticate, *args):
        """``authenticate(*args)`` (in the executor) -> ``(account, identity)``; our token for
        that account: ``(account, token, expires)``."""
        for name, value in NO_CACHE.items():
            self.set_header(name, value)
        account, identity = await self.run(authenticate, *args)
        self.issuer = Issuer(account=account)       # for the access log
        token, expires = self.tokens.issue(account, identity=identity)
        return account, token, expires.strftime(RFC1123)

    async def login_userpass(self, username, password, account):
        """A password login: throttled per identity and address (``core/auth/throttle.py``:
        the check in the executor call that reads the hash), scrypt in its own pool."""
        throttle = self.application.settings["login_throttle"]
        key, address = (username if isinstance(username, str) else None), self.request.remote_ip
        try:
            pending, stored = await self.run(_checked_hash, throttle, key, address, username,
                                             password, account)
            await asyncio.get_running_loop().run_in_executor(
                self.application.settings["password_hasher"], passwords.check_password,
                password, stored, username, account)
        except exceptions.LoginThrottled:
            raise
        except (exceptions.CannotAuthenticate, exceptions.UnknownIdentity):
            await self.run(throttle.failed, key, address)
            raise
        return await self.login(_account_of_login, throttle if pending else None, username,
                                account)

    async def send_token(self, authenticate, *args):
        """Log in and answer with the token in headers, as the header-based logins do."""
        self.send_login(*await self.login(authenticate, *args))

    def send_login(self, account, token, expires):
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Rucio-Auth-Token", token)
        self.set_header("X-Rucio-Auth-Token-Expires", expires)
        self.set_header("X-Rucio-Auth-Account", account)
        self.finish()


def _checked_hash(throttle, key, address, username, password, account):
    """(whether the identity has failures to clear, its stored hash): one executor call."""
    pending = throttle.check(key, address)
    return pending, passwords.password_hash_of(username, password, account)


def _account_of_login(throttle, username, account):
    """After a verified password: clear the identity's failures (when it had any) in the
    executor call that picks the account."""
    if throttle is not None:
        throttle.succeeded(username)
    return passwords.account_of_login(username, account)


class UserpassHandler(LoginHandler):
    """``GET /auth/userpass``: credentials in headers, token in ``X-Rucio-Auth-Token``."""

    async def get(self):
        headers = self.request.headers
        self.send_login(*await self.login_userpass(headers.get("X-Rucio-Username"),
                                                   headers.get("X-Rucio-Password"),
                                                   self.requested_account))


class TokenHandler(LoginHandler):
    """``POST /auth/token``: ``{"account", "username", "password"}`` -> ``{"token", ...}``."""

    @accepts(obj(account=ANY, username=ANY, password=ANY))
    async def post(self):
        body = self.json_body()
        account, token, expires = await self.login_userpass(
            body.get("username"), body.get("password"), body.get("account") or None)
        self.send_json({"token": token, "account": account, "expires_at": expires})


class X509Handler(LoginHandler):
    """``GET /auth/x509``, ``/auth/x509/webui``, ``/auth/x509_proxy``: the DN of the verified
    client certificate: ours when we terminate TLS (then never a header, even from a trusted
    address: behind a TLS passthrough every client comes from the proxy's address), else a
    trusted proxy's header."""

    async def get(self):
        await self.send_token(resolve.login_identity, "X509", self.client_dn(),
                              self.requested_account)

    def client_dn(self):
        request, config = self.request, self.config
        if config.terminates_tls:
            der = request.get_ssl_certificate(binary_form=True)
            if not der:
                raise exceptions.CannotAuthenticate("Cannot get DN")
            return x509.dn_from_certificate(der)
        if not (from_trusted_proxy(request) and request.headers.get(config.x509_dn_header)):
            raise exceptions.CannotAuthenticate("Cannot get DN")
        verified = request.headers.get(config.x509_verify_header, "").strip()
        if verified != "SUCCESS":
            raise exceptions.CannotAuthenticate(
                f"Cannot authenticate: the client certificate did not verify ({verified})")
        return x509.dn_from_header(request.headers[config.x509_dn_header])


class SSHChallengeHandler(LoginHandler):
    """``GET /auth/ssh_challenge_token``: a single-use challenge for ``X-Rucio-Account``."""

    async def get(self):
        for name, value in NO_CACHE.items():
            self.set_header(name, value)
        challenge, expires = await self.run(ssh.new_challenge, self.requested_account,
                                            self.config.ssh_challenge_lifetime)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Rucio-SSH-Challenge-Token", challenge)
        self.set_header("X-Rucio-SSH-Challenge-Token-Expires", expires.strftime(RFC1123))
        self.finish()


class SSHHandler(LoginHandler):
    """``GET /auth/ssh``: the challenge signed with a key of one of the account's SSH identities."""

    async def get(self):
        await self.send_token(ssh.authenticate_ssh, self.requested_account,
                              self.request.headers.get("X-Rucio-SSH-Signature"))


class GSSHandler(LoginHandler):
    """``GET /auth/gss``: Kerberos is not offered by this server."""

    def get(self):
        raise exceptions.CannotAuthenticate("GSS is not configured on this server")


class ValidateHandler(BaseHandler):
    """``GET /auth/validate``: the token's account, identity and lifetime (401 if invalid);
    our tokens and accepted external ones alike."""

    def get(self):
        described = dict(self.credentials)
        lifetime = datetime.fromtimestamp(described.pop("exp"), UTC).strftime(RFC1123)
        self.send_json(dict(described, lifetime=lifetime, vo=self.issuer.vo))
