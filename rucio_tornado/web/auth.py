"""Ping and authentication."""
from datetime import UTC

from rucio_tornado import RUCIO_API_VERSION, __version__
from rucio_tornado.core import auth
from rucio_tornado.core.common import RFC1123
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.web.base import BaseHandler

NO_CACHE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
            "Pragma": "no-cache"}


class PingHandler(BaseHandler):
    auth_required = False

    def get(self):
        self.send_json({"version": RUCIO_API_VERSION, "server": f"rucio-tornado {__version__}"})


class LoginHandler(BaseHandler):
    """Shared by the login routes: check credentials, issue a token, never cache the answer."""
    auth_required = False

    async def login(self, username, password, account):
        account = await self.run(auth.authenticate_userpass, username, password, account)
        self.issuer = Issuer(account=account)       # for the access log
        for name, value in NO_CACHE.items():
            self.set_header(name, value)
        token, expires = self.tokens.issue(account, identity=username)
        return account, token, expires.strftime(RFC1123)


class UserpassHandler(LoginHandler):
    """``GET /auth/userpass``: credentials in headers, token in ``X-Rucio-Auth-Token``."""

    async def get(self):
        headers = self.request.headers
        account, token, expires = await self.login(
            headers.get("X-Rucio-Username"), headers.get("X-Rucio-Password"),
            headers.get("X-Rucio-Account") or None)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Rucio-Auth-Token", token)
        self.set_header("X-Rucio-Auth-Token-Expires", expires)
        self.set_header("X-Rucio-Auth-Account", account)
        self.finish()


class TokenHandler(LoginHandler):
    """``POST /auth/token``: ``{"account", "username", "password"}`` -> ``{"token", ...}``."""

    async def post(self):
        body = self.json_body()
        account, token, expires = await self.login(
            body.get("username"), body.get("password"), body.get("account") or None)
        self.send_json({"token": token, "account": account, "expires_at": expires})


class ValidateHandler(BaseHandler):
    """``GET /auth/validate``: the token's account, identity and lifetime (401 if invalid)."""

    def get(self):
        token = self.request.headers.get("X-Rucio-Auth-Token") or \
            self.request.headers.get("Authorization", "")[7:]
        claims = self.tokens.decode(token.strip())
        from datetime import datetime
        lifetime = datetime.fromtimestamp(claims["exp"], UTC).strftime(RFC1123)
        self.send_json({"account": claims["sub"], "identity": claims.get("identity"),
                        "lifetime": lifetime, "vo": self.issuer.vo, "audience": None,
                        "authz_scope": None})
