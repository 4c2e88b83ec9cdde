"""Authentication methods, in process on both databases: the DN normaliser, X.509 through a
trusted proxy's header, external OIDC tokens (JWKS from a file and from a loopback issuer),
SSH challenges, GSS, identities of every kind."""
import datetime
import time

import jwt
import pytest

from rucio_tornado.config import Settings, validate
from rucio_tornado.core.auth import oidc
from rucio_tornado.core.auth.x509 import dn_from_certificate, normalise_dn, strip_proxy
from rucio_tornado.models import SSHChallenge, utcnow
from tests.authtools import TestIssuer, sign_ed25519, sign_rsa, ssh_ed25519_key, ssh_rsa_key
from tests.conftest import TEST_SECRET
from tests.prodtools import PKI

JANE = "/DC=org/DC=example/OU=Users/CN=Jane Doe"


# -- the DN normaliser -------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    JANE,
    "CN=Jane Doe,OU=Users,DC=example,DC=org",                 # RFC 2253 (nginx)
    "CN=Jane Doe, OU=Users, DC=example, DC=org",
    "DC = org, DC = example, OU = Users, CN = Jane Doe",      # OpenSSL one-line
    "cn=Jane Doe,ou=Users,dc=example,dc=org",
    "CN=Jane\\20Doe,OU=Users,DC=example,DC=org",
    "  /DC=org/DC=example/OU=Users/CN=Jane Doe  ",
])
def test_every_form_of_a_dn_normalises_to_rucios(text):
    assert normalise_dn(text) == JANE
    assert normalise_dn(normalise_dn(text)) == JANE


def test_escapes_emails_and_multivalued_rdns():
    assert normalise_dn(r"CN=Doe\, Jane,O=Example\+Co,C=CH") == "/C=CH/O=Example+Co/CN=Doe, Jane"
    assert normalise_dn("emailAddress=j@example.org,CN=Jane,DC=org") == \
        "/DC=org/CN=Jane/emailAddress=j@example.org"
    assert normalise_dn("E=j@example.org,CN=Jane") == "/CN=Jane/emailAddress=j@example.org"
    assert normalise_dn("CN=J\\C3\\A9r\\C3\\B4me,DC=org") == "/DC=org/CN=Jérôme"
    assert normalise_dn("UID=jdoe+CN=Jane,DC=org") == "/DC=org/UID=jdoe+CN=Jane"
    for bad in ("", "   ", "no equals sign", "=value"):
        with pytest.raises(ValueError):
            normalise_dn(bad)


@pytest.mark.parametrize("dn, user", [
    (JANE + "/CN=1234567", JANE),
    (JANE + "/CN=proxy", JANE),
    (JANE + "/CN=limited proxy", JANE),
    (JANE + "/CN=limited proxy/CN=proxy/CN=42", JANE),
    (JANE, JANE),
    ("/DC=ch/DC=cern/OU=Users/CN=jdoe/CN=707658/CN=Jane Doe",    # CERN: digits inside stay
     "/DC=ch/DC=cern/OU=Users/CN=jdoe/CN=707658/CN=Jane Doe"),
])
def test_proxy_components_are_stripped(dn, user):
    assert strip_proxy(dn) == user
    rfc2253 = ",".join(reversed(dn[1:].split("/")))
    assert strip_proxy(normalise_dn(rfc2253)) == user


def test_the_dn_of_a_certificate_and_of_its_proxy(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509 import load_pem_x509_certificates
    pki = PKI(tmp_path)
    _, _, cert, key = pki.user("jane", ("DC", "org"), ("DC", "example"), ("OU", "Users"),
                               ("CN", "Jane Doe"))
    assert dn_from_certificate(cert.public_bytes(serialization.Encoding.DER)) == JANE
    proxy = load_pem_x509_certificates(open(pki.proxy("x509up", cert, key), "rb").read())[0]
    assert proxy.subject != cert.subject
    assert dn_from_certificate(proxy.public_bytes(serialization.Encoding.DER)) == JANE


# -- settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"oidc_issuers": "https://iam.example.org/=/no/such.jwks"}, "JWKS file"),
    ({"oidc_issuers": "https://iam.example.org/=http://10.0.0.1/jwks"}, "must be https"),
    ({"oidc_issuers": "http://iam.example.org/"}, "must be https"),
    ({"oidc_issuers": "=x"}, "no issuer"),
    ({"ssl_client_ca_path": "/no/such/dir"}, "directory not found"),
])
def test_authentication_settings_are_validated(changes, message):
    problems = validate(Settings(**changes))
    assert any(message in problem for problem in problems), problems


def test_issuers_are_parsed():
    assert oidc.parse_issuers("https://a.org/=https://a.org/jwk, https://b.org/ ,"
                              "http://127.0.0.1:9/=/etc/b.jwks") == {
        "https://a.org/": "https://a.org/jwk", "https://b.org/": "",
        "http://127.0.0.1:9/": "/etc/b.jwks"}


# -- in-process server: one settings object for every method ----------------------------------
@pytest.fixture(scope="module")
def issuer():
    return TestIssuer()


@pytest.fixture(scope="module")
def served_issuer():
    served = TestIssuer().serve()
    yield served
    served.stop()


@pytest.fixture
def trusted():
    return "127.0.0.1"


@pytest.fixture
def settings(tmp_path, issuer, served_issuer, trusted):
    jwks = issuer.write_jwks(tmp_path / "jwks.json")
    return Settings(data_dir=str(tmp_path), jwt_secret=TEST_SECRET, periodic_tasks=False,
                    trusted_proxies=trusted,
                    oidc_issuers=f"{issuer.issuer}={jwks}, {served_issuer.issuer}")


async def _add_account(api, name, *identities):
    """An account with identities ``(type, identity, default)``."""
    assert (await api.post(f"/accounts/{name}", {"type": "USER", "email": None})).status == 201
    for type_, identity, default in identities:
        response = await api.post(f"/accounts/{name}/identities", {
            "identity": identity, "authtype": type_, "email": "x@example.org",
            "default": default})
        assert response.status == 201, response


def _refused(response, fragment=""):
    assert response.status == 401, response
    assert response.exception_class == "CannotAuthenticate", response
    assert fragment in response.headers["ExceptionMessage"], response.headers["ExceptionMessage"]


# -- X.509 via a trusted proxy -----------------------------------------------------------------
def _dn_headers(dn, verify="SUCCESS", **extra):
    return dict({"X-SSL-Client-S-DN": dn, "X-SSL-Client-Verify": verify}, **extra)


@pytest.mark.gen_test
async def test_x509_through_a_trusted_proxy_header(api):
    await _add_account(api, "jane", ("proxy", "CN=Jane Doe,OU=Users,DC=example,DC=org", True))
    await _add_account(api, "janeprod", ("X509", JANE, False))
    anon = api.as_(None)
    for path in ("/auth/x509", "/auth/x509/webui", "/auth/x509_proxy"):
        response = await anon.get(path, headers=_dn_headers(
            "CN=123456789,CN=Jane Doe,OU=Users,DC=example,DC=org"))   # a proxy, as nginx says
        assert response.status == 200, response
        assert response.headers["X-Rucio-Auth-Account"] == "jane"
        assert response.headers["Cache-Control"].startswith("no-cache")
    token = response.headers["X-Rucio-Auth-Token"]
    whoami = await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
    assert whoami.json()["account"] == "jane"
    validated = (await anon.get("/auth/validate", headers={"X-Rucio-Auth-Token": token})).json()
    assert validated["account"] == "jane" and validated["identity"] == JANE
    chosen = await anon.get("/auth/x509", headers=_dn_headers(JANE, **{
        "X-Rucio-Account": "janeprod"}))
    assert chosen.headers["X-Rucio-Auth-Account"] == "janeprod"
    _refused(await anon.get("/auth/x509", headers=_dn_headers(JANE, **{
        "X-Rucio-Account": "root"})), "account root")
    listed = (await api.get("/accounts/jane/identities")).lines()
    assert listed == [{"type": "X509", "identity": JANE, "email": "x@example.org"}]
    _refused(await anon.get("/auth/x509", headers=_dn_headers("/DC=org/CN=Nobody")))
    _refused(await anon.get("/auth/x509", headers=_dn_headers(JANE, "FAILED:self signed")),
             "did not verify")
    _refused(await anon.get("/auth/x509"), "Cannot get DN")
    # removing the identity stops the certificate at once
    for account in ("jane", "janeprod"):
        assert (await api.delete(f"/accounts/{account}/identities", {
            "identity": "CN=Jane Doe,OU=Users,DC=example,DC=org", "authtype": "X509"})
        ).status == 200
    _refused(await anon.get("/auth/x509", headers=_dn_headers(JANE)))


@pytest.mark.gen_test
@pytest.mark.parametrize("trusted", ["10.0.0.1"])
async def test_a_dn_header_from_an_untrusted_peer_is_ignored(api):
    await _add_account(api, "jane", ("X509", JANE, True))
    _refused(await api.as_(None).get("/auth/x509", headers=_dn_headers(JANE)), "Cannot get DN")


# -- external OIDC tokens ----------------------------------------------------------------------
@pytest.mark.gen_test
async def test_external_tokens_on_every_route(api, issuer):
    await _add_account(api, "jane", ("OIDC", issuer.identity("jane"), True))
    await _add_account(api, "janeprod", ("OIDC", issuer.identity("jane"), False))
    anon = api.as_(None)
    for kid in ("rsa-1", "ec-1"):
        token = issuer.token(kid=kid)
        whoami = await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
        assert whoami.status == 200 and whoami.json()["account"] == "jane", whoami
    bearer = await anon.get("/accounts/jane", headers={"Authorization": "Bearer " + token})
    assert bearer.status == 200
    chosen = await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token,
                                                         "X-Rucio-Account": "janeprod"})
    assert chosen.json()["account"] == "janeprod"
    _refused(await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token,
                                                         "X-Rucio-Account": "root"}))
    validated = await anon.get("/auth/validate", headers={"X-Rucio-Auth-Token": token})
    assert validated.json()["identity"] == issuer.identity("jane")
    assert validated.json()["account"] == "jane" and validated.json()["audience"] == "rucio"
    assert validated.json()["authz_scope"] == "openid storage.read:/"
    assert (await api.get("/accounts/whoami")).json()["account"] == "root"   # ours still work
    assert (await api.delete("/accounts/jane/identities", {
        "identity": issuer.identity("jane"), "authtype": "OIDC"})).status == 200
    assert (await api.delete("/accounts/janeprod/identities", {
        "identity": issuer.identity("jane"), "authtype": "OIDC"})).status == 200
    _refused(await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token}))


def _forgeries(issuer):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = issuer.keys["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    claims = {"iss": issuer.issuer, "sub": "jane", "aud": "rucio", "iat": now, "exp": now + 600}
    return {
        "forged": issuer.token(key=other),
        "unknown kid": issuer.token(key=other, headers={"kid": "rsa-2"}),
        "expired": issuer.token(issued=-7200, lifetime=600),
        "not yet valid": issuer.token(issued=3600),
        "wrong audience": issuer.token(aud="someone-else"),
        "wrong issuer": TestIssuer("https://evil.example.org/").token(),
        "unknown subject": issuer.token(sub="mallory"),
        "none": jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"}),
        "HS256": jwt.encode(claims, TEST_SECRET, algorithm="HS256", headers={"kid": "rsa-1"}),
        "HS256 with the public key": _hmac_with(claims, public_pem),
        "no exp": issuer.token(exp=None),
        "garbage": "a.b.c",
    }


def _hmac_with(claims, secret):
    import base64
    import hashlib
    import hmac
    import json

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode()) + \
        "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


@pytest.mark.gen_test
async def test_bad_external_tokens_are_refused(api, issuer):
    await _add_account(api, "jane", ("OIDC", issuer.identity("jane"), True))
    anon = api.as_(None)
    for name, token in _forgeries(issuer).items():
        response = await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
        assert response.status == 401 and response.exception_class == "CannotAuthenticate", name
        validate_response = await anon.get("/auth/validate",
                                           headers={"X-Rucio-Auth-Token": token})
        assert validate_response.status == 401, name


@pytest.mark.gen_test
async def test_keys_from_the_issuers_discovery_document(api, served_issuer):
    from cryptography.hazmat.primitives.asymmetric import ec
    await _add_account(api, "jane", ("OIDC", served_issuer.identity("jane"), True))
    anon = api.as_(None)
    for _ in range(3):
        response = await anon.get("/accounts/whoami", headers={
            "X-Rucio-Auth-Token": served_issuer.token(kid="ec-1")})
        assert response.status == 200, response
    fetched = served_issuer.fetches
    assert fetched >= 1
    # a new key at the issuer (rotation): an unknown kid reads the JWKS again
    kid = f"ec-{len(served_issuer.keys)}"
    served_issuer.keys[kid] = ec.generate_private_key(ec.SECP256R1())
    oidc.MIN_REFETCH, saved = 0.0, oidc.MIN_REFETCH
    try:
        response = await anon.get("/accounts/whoami", headers={
            "X-Rucio-Auth-Token": served_issuer.token(kid=kid)})
    finally:
        oidc.MIN_REFETCH = saved
    assert response.status == 200 and served_issuer.fetches == fetched + 1


# -- SSH ---------------------------------------------------------------------------------------
async def _challenge(anon, account):
    response = await anon.get("/auth/ssh_challenge_token", headers={"X-Rucio-Account": account})
    assert response.status == 200, response
    assert response.headers["X-Rucio-SSH-Challenge-Token-Expires"]
    return response.headers["X-Rucio-SSH-Challenge-Token"]


@pytest.mark.gen_test
async def test_ssh_keys_rsa_and_ed25519_and_no_replay(api, db, tmp_path):
    rsa_path, rsa_line = ssh_rsa_key(tmp_path)
    ed_key, ed_line = ssh_ed25519_key()
    await _add_account(api, "jane", ("SSH", rsa_line, True), ("SSH", ed_line, False))
    anon = api.as_(None)
    for sign in (lambda c: sign_rsa(rsa_path, c), lambda c: sign_ed25519(ed_key, c)):
        challenge = await _challenge(anon, "jane")
        headers = {"X-Rucio-Account": "jane", "X-Rucio-SSH-Signature": sign(challenge)}
        response = await anon.get("/auth/ssh", headers=headers)
        assert response.status == 200, response
        token = response.headers["X-Rucio-Auth-Token"]
        assert (await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
                ).json()["account"] == "jane"
        _refused(await anon.get("/auth/ssh", headers=headers), "account jane")   # replayed
    # a challenge cannot authenticate a request, nor be signed by a key of another account
    challenge = await _challenge(anon, "jane")
    _refused(await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": challenge}))
    other_path, _ = ssh_rsa_key(tmp_path, "other")
    _refused(await anon.get("/auth/ssh", headers={
        "X-Rucio-Account": "jane", "X-Rucio-SSH-Signature": sign_rsa(other_path, challenge)}))
    _refused(await anon.get("/auth/ssh", headers={
        "X-Rucio-Account": "root", "X-Rucio-SSH-Signature": sign_rsa(rsa_path, challenge)}))
    _refused(await anon.get("/auth/ssh", headers={
        "X-Rucio-Account": "jane", "X-Rucio-SSH-Signature": "not base64!"}))
    # an expired challenge is refused
    with db.peewee.connection_context():
        SSHChallenge.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    _refused(await anon.get("/auth/ssh", headers={
        "X-Rucio-Account": "jane", "X-Rucio-SSH-Signature": sign_rsa(rsa_path, challenge)}))
    # removing the key stops it at once
    challenge = await _challenge(anon, "jane")
    assert (await api.delete("/accounts/jane/identities", {
        "identity": rsa_line, "authtype": "SSH"})).status == 200
    _refused(await anon.get("/auth/ssh", headers={
        "X-Rucio-Account": "jane", "X-Rucio-SSH-Signature": sign_rsa(rsa_path, challenge)}))
    missing = await anon.get("/auth/ssh_challenge_token")
    assert missing.status == 400 and missing.exception_class == "ValueError"
    _refused(await anon.get("/auth/ssh_challenge_token", headers={"X-Rucio-Account": "nobody"}))


# -- GSS, identities ---------------------------------------------------------------------------
@pytest.mark.gen_test
async def test_gss_is_not_configured(api):
    _refused(await api.as_(None).get("/auth/gss"), "GSS is not configured on this server")


@pytest.mark.gen_test
async def test_identities_of_every_kind(api, issuer, tmp_path):
    _, ssh_line = ssh_rsa_key(tmp_path)
    await _add_account(api, "jane", ("X509", "DC = org, DC = example, OU = Users, CN = Jane Doe",
                                     True), ("OIDC", issuer.identity(), False),
                       ("SSH", ssh_line, False))
    seed = await api.post("/accounts/jane/identities/proxy/"
                          "%2FDC%3Dorg%2FCN%3DJane%20Proxy", {"email": "j@example.org"})
    assert seed.status == 201, seed
    listed = {(row["type"], row["identity"]) for row in
              (await api.get("/accounts/jane/identities")).lines()}
    assert listed == {("X509", JANE), ("X509", "/DC=org/CN=Jane Proxy"),
                      ("OIDC", issuer.identity()), ("SSH", ssh_line)}
    accounts = await api.get("/identities/accounts?identity_key="
                             "CN%3DJane%20Doe%2COU%3DUsers%2CDC%3Dexample%2CDC%3Dorg&type=X509")
    assert accounts.json() == ["jane"]
