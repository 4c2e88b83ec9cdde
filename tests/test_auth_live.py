"""The real rucio-clients and CLI log in with x509, x509_proxy, oidc and ssh against a server
that terminates TLS itself (client certificates optional: userpass on the same port), on
SQLite and PostgreSQL."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.authtools import TestIssuer, ssh_rsa_key
from tests.pg import create_pg_database, drop_pg_database
from tests.prodtools import PKI, Server

pytestmark = pytest.mark.integration

JANE = "/DC=org/DC=example/OU=Users/CN=Jane Doe"
CONFIG = """[client]
rucio_host = {url}
auth_host = {url}
account = jane
ca_cert = {ca}
auth_token_file_path = {token_file}
request_retries = 1
auth_type = {auth_type}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("authlive")
    pki = PKI(workdir)
    cert, key = pki.server()
    user_cert, user_key, user, user_private = pki.user(
        "jane", ("DC", "org"), ("DC", "example"), ("OU", "Users"), ("CN", "Jane Doe"))
    stranger = PKI(workdir / "other", "another CA")
    issuer = TestIssuer()
    db_url = create_pg_database("rt_auth") if request.param == "postgresql" \
        else f"sqlite:///{workdir / 'auth.db'}"
    server = Server(workdir, {"db": db_url, "ssl_certfile": cert, "ssl_keyfile": key,
                              "ssl_client_ca": pki.ca_path, "periodic_tasks": "false",
                              "oidc_issuers": f"{issuer.issuer}="
                              f"{issuer.write_jwks(workdir / 'jwks.json')}"},
                    scheme="https", ca=pki.ca_path)
    ssh_key, ssh_line = ssh_rsa_key(workdir)
    stack = {"url": server.url, "ca": pki.ca_path, "workdir": workdir, "server": server,
             "cert": user_cert, "key": user_key, "issuer": issuer, "ssh_key": ssh_key,
             "proxy": pki.proxy("x509up_jane", user, user_private),
             "stranger": stranger.user("stranger", ("DC", "org"), ("CN", "Jane Doe"))[:2]}
    try:
        _register(stack, ssh_line)
        yield stack
    finally:
        code = server.stop()
        if request.param == "postgresql":
            drop_pg_database(db_url)
    assert code == 0, server.log()


def _root_client(stack):
    from rucio.client import Client
    return Client(rucio_host=stack["url"], auth_host=stack["url"], account="root",
                  ca_cert=stack["ca"], auth_type="userpass",
                  creds={"username": "ddmlab", "password": "secret"})


def _register(stack, ssh_line):
    """jane's account and her identities: the certificate DN through the CLI, as the seed's
    rucio-admin example writes it (RFC 2253), the others through the client."""
    config = _config(stack, "userpass", "root", "username = ddmlab\npassword = secret\n")
    _cli(stack, config, "rucio-admin", "account", "add", "jane", "--type", "USER")
    _cli(stack, config, "rucio-admin", "identity", "add", "--account", "jane", "--type", "X509",
         "--id", "CN=Jane Doe,OU=Users,DC=example,DC=org", "--email", "jane@example.org")
    _cli(stack, config, "rucio-admin", "identity", "add", "--account", "jane", "--type", "SSH",
         "--id", ssh_line, "--email", "jane@example.org")
    client = _root_client(stack)
    client.add_identity("jane", stack["issuer"].identity("jane"), "OIDC", "jane@example.org")
    identities = {(row["type"], row["identity"]) for row in client.list_identities("jane")}
    assert ("X509", JANE) in identities and ("SSH", ssh_line) in identities


def _config(stack, auth_type, account="jane", extra=""):
    path = Path(stack["workdir"]) / f"rucio-{auth_type}-{account}.cfg"
    path.write_text(CONFIG.format(url=stack["url"], ca=stack["ca"], auth_type=auth_type,
                                  token_file=Path(stack["workdir"]) / f"token-{auth_type}")
                    .replace("account = jane", f"account = {account}") + extra)
    return path


def _cli(stack, config, program, *args, env=None):
    exe = shutil.which(program) or str(Path(sys.executable).parent / program)
    result = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, RUCIO_CONFIG=str(config), **(env or {})))
    assert result.returncode == 0, f"{program} {args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _client(stack, auth_type, config, **creds):
    from rucio.client import Client
    from rucio.common.config import clean_cached_config
    os.environ["RUCIO_CONFIG"] = str(config)
    clean_cached_config()
    return Client(rucio_host=stack["url"], auth_host=stack["url"], account="jane",
                  ca_cert=stack["ca"], auth_type=auth_type, creds=creds or None)


def _whoami_both_ways(stack, auth_type, **creds):
    """The client with ``creds``, then (its token file removed) ``rucio whoami`` from config."""
    names = {"client_cert": "client_cert", "client_key": "client_key",
             "client_proxy": "client_x509_proxy", "ssh_private_key": "ssh_private_key"}
    config = _config(stack, auth_type, extra="".join(f"{names[k]} = {v}\n"
                                                     for k, v in creds.items()))
    assert _client(stack, auth_type, config, **creds).whoami()["account"] == "jane"
    os.remove(Path(stack["workdir"]) / f"token-{auth_type}")
    assert "jane" in _cli(stack, config, "rucio", "whoami")


def test_x509_certificate(stack):
    _whoami_both_ways(stack, "x509", client_cert=stack["cert"], client_key=stack["key"])


def test_x509_proxy(stack):
    _whoami_both_ways(stack, "x509_proxy", client_proxy=stack["proxy"])


def test_ssh_key(stack):
    _whoami_both_ways(stack, "ssh", ssh_private_key=stack["ssh_key"])


def test_oidc_token_from_wlcg_discovery(stack):
    token_file = Path(stack["workdir"]) / "bt_jane"
    token_file.write_text(stack["issuer"].token("jane") + "\n")
    config = _config(stack, "oidc")
    os.environ["BEARER_TOKEN_FILE"] = str(token_file)
    try:
        assert _client(stack, "oidc", config).whoami()["account"] == "jane"
    finally:
        del os.environ["BEARER_TOKEN_FILE"]
    assert "jane" in _cli(stack, config, "rucio", "whoami",
                          env={"BEARER_TOKEN_FILE": str(token_file)})
    validated = requests.get(stack["url"] + "/auth/validate", verify=stack["ca"], headers={
        "X-Rucio-Auth-Token": token_file.read_text().strip()}).json()
    assert validated["identity"] == stack["issuer"].identity("jane")


def test_refusals_over_tls(stack):
    url, ca = stack["url"], stack["ca"]
    anonymous = requests.get(url + "/auth/x509", verify=ca)        # no certificate: 401
    assert anonymous.status_code == 401
    assert anonymous.headers["ExceptionClass"] == "CannotAuthenticate"
    userpass = requests.get(url + "/auth/userpass", verify=ca, headers={
        "X-Rucio-Username": "ddmlab", "X-Rucio-Password": "secret"})
    assert userpass.status_code == 200                   # same port, no certificate needed
    with pytest.raises(requests.exceptions.SSLError):    # a CA we do not trust: no TLS at all
        requests.get(url + "/auth/x509", verify=ca, cert=stack["stranger"], timeout=10)
    forged = stack["issuer"].token("jane", aud="other")
    refused = requests.get(url + "/accounts/whoami", verify=ca,
                           headers={"X-Rucio-Auth-Token": forged})
    assert refused.status_code == 401 and refused.headers["ExceptionClass"] == \
        "CannotAuthenticate"
