"""The OIDC login routes: ``/auth/oidc``, ``/auth/oidc_redirect``, ``/auth/oidc_code``,
``/auth/oidc_refresh`` (core/auth/oidc_flows.py). Without a configured identity provider
(``oidc_login_issuer``, ``oidc_client_id``) each answers 401 CannotAuthenticate."""
import calendar
import html

from rucio_tornado import exceptions
from rucio_tornado.core.auth import oidc_flows
from rucio_tornado.web.auth import NO_CACHE, LoginHandler

HTML = "text/html; charset=UTF-8"


class OIDCHandler(LoginHandler):
    """Shared: the provider of the configuration, this server's public URL, no caching."""

    def prepare_headers(self):
        for name, value in NO_CACHE.items():
            self.set_header(name, value)

    @property
    def provider(self):
        settings = self.application.settings
        if "oidc_provider" not in settings:
            settings["oidc_provider"] = oidc_flows.Provider.from_settings(self.config)
        if settings["oidc_provider"] is None:
            raise exceptions.CannotAuthenticate("OIDC login is not configured on this server")
        return settings["oidc_provider"]

    @property
    def public_url(self):
        """``external_url`` (where browsers and clients reach us), else this request's host."""
        return (self.config.external_url or
                f"{self.request.protocol}://{self.request.host}").rstrip("/")

    def page(self, status, text):
        """The short page a browser shows at the end of a login step."""
        self.set_status(status)
        self.set_header("Content-Type", HTML)
        self.finish(f"<!DOCTYPE html><html><head><title>Rucio</title></head><body><p>"
                    f"{html.escape(text)}</p></body></html>")


class AuthOIDCHandler(OIDCHandler):
    """``GET /auth/oidc``: a login's URL in ``X-Rucio-OIDC-Auth-URL``."""

    async def get(self):
        self.prepare_headers()
        headers = self.request.headers
        provider = self.provider
        issuer = headers.get("X-Rucio-Client-Authorize-Issuer")
        if issuer not in (None, "", "None", provider.issuer):
            raise exceptions.CannotAuthenticate(f"Unknown identity provider {issuer}")
        endpoints = await provider.endpoints()
        audience = headers.get("X-Rucio-Client-Authorize-Audience")
        url = await self.run(
            oidc_flows.start_login, self.requested_account,
            headers.get("X-Rucio-Client-Authorize-Scope", ""),
            headers.get("X-Rucio-Client-Authorize-Polling", "").lower() == "true",
            endpoints["authorization_endpoint"], provider.client_id, self.public_url,
            self.config.oidc_scope, self.config.oidc_login_lifetime,
            audience=None if audience in (None, "", "None") else audience)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Rucio-OIDC-Auth-URL", url)
        self.finish()


class RedirectOIDCHandler(OIDCHandler):
    """``GET /auth/oidc_redirect?<code>``: a browser goes on to the IdP (303); the client with
    ``X-Rucio-Client-Fetch-Token: True`` gets the granted token (401 until then)."""

    async def get(self):
        self.prepare_headers()
        access_msg = self.request.query
        if self.request.headers.get("X-Rucio-Client-Fetch-Token") == "True":
            token = await self.run(oidc_flows.fetch_token, access_msg)
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("X-Rucio-Auth-Token", token)
            self.finish()
            return
        self.redirect(await self.run(oidc_flows.redirect_target, access_msg), status=303)


class CodeOIDCHandler(OIDCHandler):
    """``GET /auth/oidc_code?code=&state=``: where the IdP sends the browser back."""

    async def get(self):
        self.prepare_headers()
        code, state = oidc_flows.parse_callback(self.request.query)
        nonce, account = await self.run(oidc_flows.login_of, state)
        claims, refresh_token = await self.provider.exchange(
            code, self.public_url + "/auth/oidc_code", nonce)
        identity = f"SUB={claims['sub']}, ISS={claims['iss']}"
        account = await self.run(oidc_flows.account_of, identity, account)
        token, _ = self.tokens.issue(account, identity=identity)
        jti = self.tokens.decode(token)["jti"]
        fetchcode = await self.run(oidc_flows.grant, state, token, jti, refresh_token)
        if fetchcode is None:
            self.page(200, "Authentication granted: go back to the Rucio client, it has the "
                           "token now.")
        else:
            self.page(200, f"Authentication granted. Copy this code to the Rucio client: "
                           f"{fetchcode}")

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, exceptions.RucioException):
            self.set_error_headers(exc.name, exc.message)     # as Rucio's error_headers
            self.page(exc.status, f"Authentication failed: {exc.message}")
            return
        super().write_error(status_code, **kwargs)


class RefreshOIDCHandler(OIDCHandler):
    """``GET /auth/oidc_refresh``: a new token for one of an OIDC login whose IdP gave a
    refresh token (empty headers when there is nothing to refresh, as the real server)."""

    async def get(self):
        self.prepare_headers()
        self.set_header("Content-Type", "application/octet-stream")
        token = self.request.headers.get("X-Rucio-Auth-Token")
        account = self.requested_account
        if not token or not account:
            raise exceptions.CannotAuthorize("Cannot authorize token request.")
        try:
            claims = self.tokens.decode(token)
        except exceptions.CannotAuthenticate:
            raise exceptions.CannotAuthorize("Cannot authorize token request.") from None
        if claims["sub"] != account:
            raise exceptions.CannotAuthorize("Cannot authorize token request.")
        found = await self.run(oidc_flows.refresh_grant, claims["jti"])
        new_token = expires = ""
        if found is not None:
            state, refresh_token = found
            verified, rotated = await self.provider.refresh(refresh_token)
            identity = claims.get("identity")
            if verified is not None:
                identity = f"SUB={verified['sub']}, ISS={verified['iss']}"
            account = await self.run(oidc_flows.account_of, identity, account)
            new_token, expires_at = self.tokens.issue(account, identity=identity)
            await self.run(oidc_flows.rotate, state, self.tokens.decode(new_token)["jti"],
                           rotated)
            expires = str(calendar.timegm(expires_at.timetuple()))     # epoch, as Rucio
        self.set_header("X-Rucio-Auth-Token", new_token)
        self.set_header("X-Rucio-Auth-Token-Expires", expires)
        self.finish()
