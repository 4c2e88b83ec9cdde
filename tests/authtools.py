"""Helpers for the authentication tests: a throw-away OIDC issuer (keys, JWKS on loopback or
in a file, signed tokens) and SSH key pairs with the signatures the real client makes."""
import base64
import http.server
import json
import threading
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


class TestIssuer:
    """An identity provider: an RSA and an EC key, their JWKS, tokens signed with either."""
    __test__ = False

    def __init__(self, issuer="https://iam.example.org/"):
        self.issuer = issuer
        self.keys = {"rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                     "ec-1": ec.generate_private_key(ec.SECP256R1())}
        self.server = None

    def jwks(self):
        keys = []
        for kid, key in self.keys.items():
            algorithm = jwt.algorithms.RSAAlgorithm if kid.startswith("rsa") \
                else jwt.algorithms.ECAlgorithm
            jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append(dict(jwk, kid=kid, use="sig"))
        return {"keys": keys}

    def write_jwks(self, path):
        Path(path).write_text(json.dumps(self.jwks()))
        return str(path)

    def token(self, sub="jane", kid="rsa-1", key=None, lifetime=600, issued=0, headers=None,
              **claims):
        """A signed token (``key``: sign with another key under the same kid, a forgery)."""
        now = int(time.time()) + issued
        body = {"iss": self.issuer, "sub": sub, "aud": "rucio", "iat": now,
                "nbf": now, "exp": now + lifetime, "jti": uuid.uuid4().hex,
                "scope": "openid storage.read:/"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        algorithm = "RS256" if kid.startswith("rsa") else "ES256"
        return jwt.encode(body, key or self.keys[kid], algorithm=algorithm,
                          headers=dict({"kid": kid}, **(headers or {})))

    def identity(self, sub="jane"):
        return f"SUB={sub}, ISS={self.issuer}"

    # -- serving the JWKS (and the discovery document) on loopback -----------------------------
    def serve(self):
        """Serve discovery + JWKS on 127.0.0.1; the issuer becomes that URL. Returns self."""
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": owner.issuer, "jwks_uri": owner.issuer + "jwks"}
                elif self.path == "/jwks":
                    owner.fetches += 1
                    body = owner.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.fetches = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def ssh_rsa_key(folder, name="id_rsa"):
    """An RSA key pair as OpenSSH writes it: (private key path, public key line)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = Path(folder) / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return str(path), _public_line(key, name)


def ssh_ed25519_key():
    """An Ed25519 key: (private key, public key line)."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key, _public_line(key, "ed25519")


def _public_line(key, comment):
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode() + \
        f" {comment}@test"


def sign_rsa(private_key_path, challenge):
    """What the real client sends for ``challenge`` (rucio.common.utils.ssh_sign)."""
    from rucio.common.utils import ssh_sign
    return ssh_sign(Path(private_key_path).read_text(), challenge)


def sign_ed25519(key, challenge):
    """An ``ssh-ed25519`` signature blob of ``challenge`` made by paramiko, base64."""
    import io

    import paramiko
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption()).decode()
    message = paramiko.Ed25519Key.from_private_key(io.StringIO(pem)).sign_ssh_data(
        challenge.encode())
    return base64.b64encode(message.asbytes()).decode()
