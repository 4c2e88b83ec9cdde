"""Ping and authentication."""
from datetime import UTC

from rucio_tornado import RUCIO_API_VERSION
from rucio_tornado.core import auth
from rucio_tornado.core.common import RFC1123
from rucio_tornado.web.base import BaseHandler

NO_CACHE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
            "Pragma": "no-cache"}


class PingHandler(BaseHandler):
    auth_required = False

    def get(self):
        self.send_json({"version": RUCIO_API_VERSION})


class UserpassHandler(BaseHandler):
    """``GET /auth/userpass``: credentials in headers, token in ``X-Rucio-Auth-Token``."""
    auth_required = False

    async def get(self):
        headers = self.request.headers
        account = headers.get("X-Rucio-Account") or None
        username = headers.get("X-Rucio-Username")
        account = await self.run(auth.authenticate_userpass, username,
                                 headers.get("X-Rucio-Password"), account)
        token, expires = self.tokens.issue(account, identity=username)
        for name, value in NO_CACHE.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Rucio-Auth-Token", token)
        self.set_header("X-Rucio-Auth-Token-Expires", expires.strftime(RFC1123))
        self.set_header("X-Rucio-Auth-Account", account)
        self.finish()


class TokenHandler(BaseHandler):
    """``POST /auth/token``: ``{"account", "username", "password"}`` -> ``{"token", ...}``."""
    auth_required = False

    async def post(self):
        body = self.json_body()
        account = await self.run(auth.authenticate_userpass, body.get("username"),
                                 body.get("password"), body.get("account") or None)
        token, expires = self.tokens.issue(account, identity=body.get("username"))
        for name, value in NO_CACHE.items():
            self.set_header(name, value)
        self.send_json({"token": token, "account": account,
                        "expires_at": expires.strftime(RFC1123)})


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
