"""A throw-away identity provider on 127.0.0.1 for the OIDC login flows: discovery, JWKS, an
authorization endpoint whose user ``sub`` is always logged in (it sends the browser straight
back with a code), and a token endpoint (authorization code and refresh token grants, client
secret basic). Keys are generated per instance (:class:`tests.authtools.TestIssuer`)."""
import base64
import http.server
import json
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from tests.authtools import TestIssuer

CLIENT_ID, CLIENT_SECRET = "rucio-tornado", "idp-secret"


class LoginProvider(TestIssuer):
    __test__ = False

    def __init__(self, sub="jane"):
        super().__init__()
        self.sub = sub
        self.codes, self.refresh_tokens = {}, set()
        self.nonce_override = None          # set to forge the nonce of the next ID token
        self.requests = []

    def id_token(self, nonce, lifetime=600):
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.sub, "aud": CLIENT_ID, "iat": now,
                  "exp": now + lifetime}
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.keys["rsa-1"], algorithm="RS256",
                          headers={"kid": "rsa-1"})

    def _token_answer(self, form, authorization):
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            request = self.codes.pop(form.get("code"), None)
            if request is None or request["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}
            nonce = self.nonce_override or request["nonce"]
            scope = request["scope"]
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return 400, {"error": "invalid_grant"}
            self.refresh_tokens.discard(form["refresh_token"])
            nonce, scope = None, "openid offline_access"
        else:
            return 400, {"error": "unsupported_grant_type"}
        answer = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                  "expires_in": 600, "id_token": self.id_token(nonce), "scope": scope}
        if "offline_access" in scope.split():
            answer["refresh_token"] = secrets.token_urlsafe(24)
            self.refresh_tokens.add(answer["refresh_token"])
        return 200, answer

    def serve(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = urlsplit(self.path)
                owner.requests.append(("GET", parts.path))
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, {"issuer": owner.issuer, "jwks_uri": owner.issuer + "jwks",
                                     "authorization_endpoint": owner.issuer + "authorize",
                                     "token_endpoint": owner.issuer + "token"})
                elif parts.path == "/jwks":
                    self._json(200, owner.jwks())
                elif parts.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    if query.get("client_id") != CLIENT_ID or \
                            "openid" not in query.get("scope", "").split():
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    owner.codes[code] = query
                    target = query["redirect_uri"] + "?" + urlencode(
                        {"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self):
                owner.requests.append(("POST", self.path))
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                self._json(*owner._token_answer(form, self.headers.get("Authorization")))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def settings(self):
        """The server settings that use this provider for the login flows."""
        return {"oidc_login_issuer": self.issuer, "oidc_client_id": CLIENT_ID,
                "oidc_client_secret": CLIENT_SECRET}
