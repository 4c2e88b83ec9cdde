"""End to end: conf/nginx.conf.example terminating TLS in front of two production server
processes on one PostgreSQL database, driven by the real rucio-clients over https."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rucio_tornado import cli
from rucio_tornado.db import Database
from rucio_tornado.models import Account
from tests.conftest import REQUIRE_PG, create_pg_database, drop_pg_database
from tests.live import free_port
from tests.prodtools import PKI, ROOT_PASSWORD, Server

pytestmark = pytest.mark.integration

CONF = Path(__file__).resolve().parent.parent / "conf"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(path)), None)
ACCOUNTS = 3000

CLIENT_CFG = """[client]
rucio_host = {url}
auth_host = {url}
auth_type = userpass
username = ddmlab
password = {password}
account = root
ca_cert = {ca}
auth_token_file_path = {token_file}
request_retries = 1
"""


def nginx_config(workdir, tls_port, http_port, upstreams, cert, key, client_ca):
    """The example, with its ports, paths and log files pointed into ``workdir``."""
    text = (CONF / "nginx.conf.example").read_text()
    replacements = {
        "worker_processes auto;": "worker_processes 1;",
        "pid /run/nginx-rucio.pid;": f"pid {workdir}/nginx.pid;",
        "error_log /var/log/nginx/rucio-error.log warn;": f"error_log {workdir}/error.log info;",
        "access_log /var/log/nginx/rucio-access.log;": f"access_log {workdir}/access.log;",
        "server 127.0.0.1:8081;": f"server 127.0.0.1:{upstreams[0]};",
        "server 127.0.0.1:8082;": f"server 127.0.0.1:{upstreams[1]};",
        "listen 443 ssl;": f"listen 127.0.0.1:{tls_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/rucio-tornado/server.pem;": f"{cert};",
        "/etc/rucio-tornado/server.key;": f"{key};",
        "/etc/grid-security/ca-bundle.pem;": f"{client_ca};",
        "http {": "http {\n" + "".join(f"    {kind}_temp_path {workdir}/{kind};\n" for kind in
                                       ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"the nginx example no longer contains {old!r}"
        text = text.replace(old, new)
    path = Path(workdir) / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if NGINX is None:
        if REQUIRE_PG:
            pytest.fail("nginx is required (RUCIO_TORNADO_REQUIRE_PG is set) but not installed")
        pytest.skip("nginx is not installed")
    workdir = tmp_path_factory.mktemp("nginx")
    pki = PKI(workdir)
    ca, (cert, key) = pki.ca_path, pki.server()
    db_url = create_pg_database("rt_nginx")
    settings = {"mode": "production", "db": db_url, "root_password": ROOT_PASSWORD,
                "trusted_proxies": "127.0.0.1", "periodic_tasks": "false"}
    servers = []
    nginx = None
    try:
        for name in ("a", "b"):      # at once: schema creation and bootstrap must not race
            servers.append(Server(workdir / name, settings, wait=False))
        for server in servers:
            server.wait_until_up()
        tls_port, http_port = free_port(), free_port()
        config = nginx_config(workdir, tls_port, http_port, [s.port for s in servers], cert, key,
                              ca)
        extra = "user root;" if os.geteuid() == 0 else ""
        nginx = subprocess.Popen([NGINX, "-p", str(workdir), "-c", str(config),
                                  "-e", str(workdir / "error.log"), "-g", f"daemon off; {extra}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"https://localhost:{tls_port}"
        _wait_for(lambda: requests.get(url + "/ping", verify=ca, timeout=1).ok, nginx, workdir)
        yield {"url": url, "plain": f"http://127.0.0.1:{http_port}", "ca": ca, "servers": servers,
               "db": db_url, "workdir": workdir, "pki": pki}
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        codes = [server.stop() for server in servers]
        drop_pg_database(db_url)
    assert codes == [0, 0]


def _wait_for(ready, process, workdir, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("nginx exited:\n" + (Path(workdir) / "error.log").read_text())
        try:
            if ready():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("nginx did not come up:\n" + (Path(workdir) / "error.log").read_text())


def _client(stack):
    from rucio.client import Client
    from rucio.common.config import clean_cached_config
    config = Path(stack["workdir"]) / "rucio.cfg"
    config.write_text(CLIENT_CFG.format(url=stack["url"], password=ROOT_PASSWORD, ca=stack["ca"],
                                        token_file=Path(stack["workdir"]) / "token"))
    os.environ["RUCIO_CONFIG"] = str(config)
    clean_cached_config()
    return Client(rucio_host=stack["url"], auth_host=stack["url"], account="root",
                  ca_cert=stack["ca"], auth_type="userpass",
                  creds={"username": "ddmlab", "password": ROOT_PASSWORD}), config


def test_a_token_from_one_process_works_on_the_other(stack):
    a, b = stack["servers"]
    forwarded = {"X-Forwarded-Proto": "https"}        # as nginx would say it, from 127.0.0.1
    issued = requests.get(a.url + "/auth/userpass", headers=dict(forwarded, **{
        "X-Rucio-Username": "ddmlab", "X-Rucio-Password": ROOT_PASSWORD}))
    assert issued.status_code == 200
    token = issued.headers["X-Rucio-Auth-Token"]
    whoami = requests.get(b.url + "/accounts/whoami",
                          headers=dict(forwarded, **{"X-Rucio-Auth-Token": token}))
    assert whoami.status_code == 200 and whoami.json()["account"] == "root"
    for server in (a, b):
        assert token not in server.log()


def test_the_real_client_over_https_and_a_streamed_listing(stack):
    database = Database(stack["db"])
    database.run_sync(lambda: Account.insert_many(
        [{"account": f"nginx{i:05d}", "account_type": "USER", "email": f"n{i}@example.org"}
         for i in range(ACCOUNTS)]).execute())
    database.close()
    client, config = _client(stack)
    assert client.whoami()["account"] == "root"
    assert client.add_account("viaproxy", "USER", "v@example.org") is True
    assert client.get_account("viaproxy")["email"] == "v@example.org"   # any process sees it
    names = [row["account"] for row in client.list_accounts()]
    assert len(names) == ACCOUNTS + 2 and names == sorted(names)
    assert names[:2] == ["nginx00000", "nginx00001"] and "viaproxy" in names

    rucio = shutil.which("rucio") or str(Path(sys.executable).parent / "rucio")
    result = subprocess.run([rucio, "whoami"], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, RUCIO_CONFIG=str(config)))
    assert result.returncode == 0 and "root" in result.stdout, result.stderr
    access_log = (Path(stack["workdir"]) / "access.log").read_text()
    assert "/accounts/" in access_log and "X-Rucio-Auth-Token" not in access_log


def test_plain_http_is_refused(stack):
    a, _ = stack["servers"]
    token = requests.get(stack["url"] + "/auth/userpass", verify=stack["ca"], headers={
        "X-Rucio-Username": "ddmlab", "X-Rucio-Password": ROOT_PASSWORD}).headers[
        "X-Rucio-Auth-Token"]
    direct = requests.get(a.url + "/accounts/whoami", headers={"X-Rucio-Auth-Token": token},
                          allow_redirects=False)
    assert direct.status_code == 403
    assert direct.headers["ExceptionClass"] == "AccessDenied"
    assert direct.headers["ExceptionMessage"] == "SSL is required"
    proxy = requests.get(stack["plain"] + "/accounts/whoami", allow_redirects=False,
                         headers={"X-Rucio-Auth-Token": token})
    assert proxy.status_code == 403 and "Location" not in proxy.headers
    assert requests.get(a.url + "/health").json() == {"status": "ok", "database": "ok"}


def test_the_systemd_unit_runs_real_commands():
    unit = (CONF / "rucio-tornado.service.example").read_text()
    commands = [line.split("=", 1)[1].split()[1:] for line in unit.splitlines()
                if line.startswith(("ExecStart=", "ExecStartPre="))]
    assert len(commands) == 2
    for argv in commands:
        cli.build_parser().parse_args(argv)        # exits on an unknown option


# -- X.509 through nginx: the verified DN in X-SSL-Client-S-DN --------------------------------
X509_CFG = """[client]
rucio_host = {url}
auth_host = {url}
auth_type = {auth_type}
account = {account}
ca_cert = {ca}
auth_token_file_path = {token_file}
request_retries = 1
{creds}
"""


def test_x509_and_proxies_through_nginx(stack):
    from rucio.client import Client
    from rucio.common.config import clean_cached_config
    pki, workdir = stack["pki"], Path(stack["workdir"])
    cert, key, user, user_key = pki.user("carol", ("DC", "org"), ("DC", "example"),
                                         ("OU", "Users"), ("CN", "Carol Nginx"))
    proxy = pki.proxy("x509up_carol", user, user_key)
    root, _ = _client(stack)
    root.add_account("carol", "USER", "carol@example.org")
    root.add_identity("carol", "CN=Carol Nginx,OU=Users,DC=example,DC=org", "X509",
                      "carol@example.org", default=True)
    rucio = shutil.which("rucio") or str(Path(sys.executable).parent / "rucio")
    types = [("x509", f"client_cert = {cert}\nclient_key = {key}")]
    if _nginx_accepts_proxies():
        types.append(("x509_proxy", f"client_x509_proxy = {proxy}"))
    else:       # OpenSSL 3 ignores OPENSSL_ALLOW_PROXY_CERTS: nginx itself refuses the proxy
        refused = requests.get(stack["url"] + "/auth/x509_proxy", verify=stack["ca"], cert=proxy)
        assert refused.status_code == 400 and "ExceptionClass" not in refused.headers
        assert "proxy certificates not allowed" in \
            (Path(stack["workdir"]) / "error.log").read_text()
    for auth_type, creds in types:
        config = workdir / f"rucio-{auth_type}.cfg"
        config.write_text(X509_CFG.format(url=stack["url"], auth_type=auth_type, account="carol",
                                          ca=stack["ca"], creds=creds,
                                          token_file=workdir / f"token-{auth_type}"))
        os.environ["RUCIO_CONFIG"] = str(config)
        clean_cached_config()
        client = Client(rucio_host=stack["url"], auth_host=stack["url"], account="carol",
                        ca_cert=stack["ca"], auth_type=auth_type)
        assert client.whoami()["account"] == "carol"
        os.remove(workdir / f"token-{auth_type}")
        result = subprocess.run([rucio, "whoami"], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, RUCIO_CONFIG=str(config)))
        assert result.returncode == 0 and "carol" in result.stdout, result.stderr


def _nginx_accepts_proxies():
    """nginx built with OpenSSL 1.1 honours OPENSSL_ALLOW_PROXY_CERTS; OpenSSL 3 does not."""
    built = subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr
    return "built with OpenSSL 1." in built


def test_x509_refusals_through_nginx(stack):
    url, ca = stack["url"], stack["ca"]
    other = PKI(Path(stack["workdir"]) / "other", "another CA")
    stranger = other.user("stranger", ("DC", "org"), ("CN", "Carol Nginx"))[:2]
    untrusted = requests.get(url + "/auth/x509", verify=ca, cert=stranger)
    assert untrusted.status_code == 401
    assert untrusted.headers["ExceptionClass"] == "CannotAuthenticate"
    unknown = stack["pki"].user("nobody", ("DC", "org"), ("CN", "Nobody"))[:2]
    response = requests.get(url + "/auth/x509", verify=ca, cert=unknown)
    assert response.status_code == 401
    assert response.headers["ExceptionClass"] == "CannotAuthenticate"
    spoofed = requests.get(url + "/auth/x509", verify=ca, headers={   # a client's own headers
        "X-SSL-Client-S-DN": "CN=Carol Nginx,OU=Users,DC=example,DC=org",
        "X-SSL-Client-Verify": "SUCCESS"})
    assert spoofed.status_code == 401
    assert spoofed.headers["ExceptionMessage"] == "Cannot get DN"
