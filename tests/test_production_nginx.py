"""End to end: conf/nginx.conf.example terminating TLS in front of two production server
processes on one PostgreSQL database, driven by the real rucio-clients over https."""
import json
import os
import shutil
import socket
import ssl
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
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"   # the example's load_module

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


def nginx_config(workdir, ports, upstreams, tls_upstream, cert, key, client_ca):
    """The example, with its ports, paths and log files pointed into ``workdir``."""
    text = (CONF / "nginx.conf.example").read_text()
    replacements = {
        "worker_processes auto;": "worker_processes 1;",
        "pid /run/nginx-rucio.pid;": f"pid {workdir}/nginx.pid;",
        "error_log /var/log/nginx/rucio-error.log warn;": f"error_log {workdir}/error.log info;",
        "access_log /var/log/nginx/rucio-access.log;": f"access_log {workdir}/access.log;",
        "server 127.0.0.1:8081;": f"server 127.0.0.1:{upstreams[0]};",
        "server 127.0.0.1:8082;": f"server 127.0.0.1:{upstreams[1]};",
        "server 127.0.0.1:8091;": f"server 127.0.0.1:{tls_upstream};",
        "listen 443 ssl;": f"listen 127.0.0.1:{ports['tls']} ssl;",
        "listen 80;": f"listen 127.0.0.1:{ports['http']};",
        "listen 8443;": f"listen 127.0.0.1:{ports['passthrough']};",
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


def start_stack(workdir, db_url, plain_processes=2):
    """``plain_processes`` servers behind nginx's https port, one terminating TLS itself behind
    its passthrough port (configured as the example says), nginx: the stack's dict, with a
    ``stop()`` that returns the exit codes."""
    if NGINX is None:
        if REQUIRE_PG:
            pytest.fail("nginx is required (RUCIO_TORNADO_REQUIRE_PG is set) but not installed")
        pytest.skip("nginx is not installed")
    if not Path(STREAM_MODULE).exists():
        pytest.fail(f"the nginx stream module is missing ({STREAM_MODULE}: apt-get install "
                    "libnginx-mod-stream)")
    pki = PKI(workdir)
    ca, (cert, key) = pki.ca_path, pki.server()
    settings = {"mode": "production", "db": db_url, "root_password": ROOT_PASSWORD,
                "periodic_tasks": "false", "allow_sqlite_in_production": "true"}
    servers, nginx = [], None

    def stop():
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        return [server.stop() for server in servers]

    try:
        for name in "ab"[:plain_processes]:   # at once: schema creation and bootstrap must not race
            servers.append(Server(workdir / name, dict(settings, trusted_proxies="127.0.0.1"),
                                  wait=False))
        for server in servers:
            server.wait_until_up()
        # then (SQLite would lock) the process verifying grid proxies: TLS of its own
        servers.append(Server(workdir / "tls", dict(
            settings, trusted_proxies="127.0.0.1", proxy_protocol="true", ssl_certfile=cert,
            ssl_keyfile=key, ssl_client_ca=ca), scheme="https", ca=ca, wait=False))
        _wait_for_proxied(servers[-1], ca)
        ports = {kind: free_port() for kind in ("tls", "http", "passthrough")}
        plain = [server.port for server in servers[:-1]]
        config = nginx_config(workdir, ports, (plain * 2)[:2], servers[-1].port, cert, key, ca)
        extra = "user root;" if os.geteuid() == 0 else ""
        nginx = subprocess.Popen([NGINX, "-p", str(workdir), "-c", str(config),
                                  "-e", str(workdir / "error.log"), "-g", f"daemon off; {extra}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"https://localhost:{ports['tls']}"
        _wait_for(lambda: requests.get(url + "/ping", verify=ca, timeout=1).ok, nginx, workdir)
        return {"url": url, "plain": f"http://127.0.0.1:{ports['http']}",
                "passthrough": f"https://localhost:{ports['passthrough']}", "ca": ca,
                "servers": servers[:-1], "tls_server": servers[-1], "db": db_url,
                "workdir": workdir, "pki": pki, "stop": stop}
    except BaseException:
        stop()
        raise


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    db_url = create_pg_database("rt_nginx")
    try:
        running = start_stack(tmp_path_factory.mktemp("nginx"), db_url)
        yield running
        codes = running["stop"]()
    finally:
        drop_pg_database(db_url)
    assert codes == [0, 0, 0]


@pytest.fixture(scope="module")
def sqlite_stack(tmp_path_factory):
    """The same with one server process behind the https port, on SQLite."""
    workdir = tmp_path_factory.mktemp("nginx-sqlite")
    running = start_stack(workdir, f"sqlite:///{workdir / 'rucio.db'}", plain_processes=1)
    yield running
    assert running["stop"]() == [0, 0]


@pytest.fixture(params=["stack", "sqlite_stack"])
def either_stack(request):
    """For the grid proxy tests: on PostgreSQL, then on SQLite."""
    return request.getfixturevalue(request.param)


def proxied_request(port, ca, path="/ping", header=b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 443\r\n",
                    source="127.0.0.1", headers=""):
    """A GET over TLS to ``port`` from ``source``, preceded by a PROXY ``header``, as nginx's
    passthrough sends it: the response's status line and headers (b"" if the server closed)."""
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                  source_address=(source, 0)) as raw:
        raw.sendall(header)
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}"
                            "Connection: close\r\n\r\n".encode())
                return b"".join(iter(lambda: tls.recv(65536), b"")).split(b"\r\n\r\n")[0]
        except (ssl.SSLError, ConnectionError):
            return b""


def _wait_for_proxied(server, ca, timeout=30):
    """Server.wait_until_up for a proxy_protocol server (its /ping needs the header)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited {server.process.returncode}:\n{server.log()}")
        try:
            if proxied_request(server.port, ca).startswith(b"HTTP/1.1 200"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not come up:\n" + server.log())


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
auth_host = {auth_url}
auth_type = {auth_type}
account = {account}
ca_cert = {ca}
auth_token_file_path = {token_file}
request_retries = 1
{creds}
"""


CAROL = "CN=Carol Nginx,OU=Users,DC=example,DC=org"


def _carol(stack):
    """carol's account, X509 identity, certificate and proxy (once per stack)."""
    if "carol" not in stack:
        pki = stack["pki"]
        cert, key, user, user_key = pki.user("carol", ("DC", "org"), ("DC", "example"),
                                             ("OU", "Users"), ("CN", "Carol Nginx"))
        root, _ = _client(stack)
        root.add_account("carol", "USER", "carol@example.org")
        root.add_identity("carol", CAROL, "X509", "carol@example.org", default=True)
        stack["carol"] = {"cert": cert, "key": key, "user": user, "user_key": user_key,
                          "proxy": pki.proxy("x509up_carol", user, user_key)}
    return stack["carol"]


def _whoami(stack, auth_type, creds, auth_url):
    """The Python client, then (its token file removed) ``rucio whoami``, as carol, logging in
    at ``auth_url`` and working on nginx's https port."""
    from rucio.client import Client
    from rucio.common.config import clean_cached_config
    config, token_file = _x509_config(stack, auth_type, creds, auth_url)
    os.environ["RUCIO_CONFIG"] = str(config)
    clean_cached_config()
    client = Client(rucio_host=stack["url"], auth_host=auth_url, account="carol",
                    ca_cert=stack["ca"], auth_type=auth_type)
    assert client.whoami()["account"] == "carol"
    os.remove(token_file)
    result = _rucio_whoami(config)
    assert result.returncode == 0 and "carol" in result.stdout, result.stderr


def _x509_config(stack, auth_type, creds, auth_url):
    workdir = Path(stack["workdir"])
    config, token_file = workdir / f"rucio-{auth_type}.cfg", workdir / f"token-{auth_type}"
    config.write_text(X509_CFG.format(url=stack["url"], auth_url=auth_url, auth_type=auth_type,
                                      account="carol", ca=stack["ca"], creds=creds,
                                      token_file=token_file))
    return config, token_file


def _rucio_whoami(config):
    rucio = shutil.which("rucio") or str(Path(sys.executable).parent / "rucio")
    return subprocess.run([rucio, "whoami"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, RUCIO_CONFIG=str(config)))


def test_x509_certificates_through_nginx(stack):
    carol = _carol(stack)
    _whoami(stack, "x509", f"client_cert = {carol['cert']}\nclient_key = {carol['key']}",
            stack["url"])


def test_grid_proxies_through_the_passthrough_port(either_stack):
    """x509_proxy logs in on the TLS passthrough port (the token then works on the https port);
    a certificate works there too."""
    stack = either_stack
    carol = _carol(stack)
    _whoami(stack, "x509_proxy", f"client_x509_proxy = {carol['proxy']}", stack["passthrough"])
    _whoami(stack, "x509", f"client_cert = {carol['cert']}\nclient_key = {carol['key']}",
            stack["passthrough"])
    # the https port cannot take proxies (nginx with OpenSSL 3, see the example)
    refused = requests.get(stack["url"] + "/auth/x509_proxy", verify=stack["ca"],
                           cert=carol["proxy"])
    assert refused.status_code == 400 and "ExceptionClass" not in refused.headers
    assert "proxy certificates not allowed" in \
        (Path(stack["workdir"]) / "error.log").read_text()


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


def test_grid_proxy_refusals_on_the_passthrough_port(either_stack):
    """What nginx does not check, the proxy-verifying processes do: a proxy signed by a key
    that is not its user's, or whose user certificate is of a CA we do not trust, fails the TLS
    handshake; headers a client sends there are never believed."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    stack = either_stack
    carol, pki, url, ca = _carol(stack), stack["pki"], stack["passthrough"], stack["ca"]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = pki.proxy("x509up_forged", carol["user"], other_key)
    other = PKI(Path(stack["workdir"]) / "other-proxy", "another CA")
    _, _, stranger, stranger_key = other.user("stranger", ("DC", "org"), ("DC", "example"),
                                              ("OU", "Users"), ("CN", "Carol Nginx"))
    untrusted = other.proxy("x509up_stranger", stranger, stranger_key)
    for proxy in (forged, untrusted):
        # TLS 1.3 checks the client's certificate after the client's side of the handshake:
        # the refusal reaches the client as the server's alert (SSLError) or, when the server
        # has already closed, as a connection ended without an answer; never as HTTP
        with pytest.raises(requests.exceptions.ConnectionError) as refused:
            requests.get(url + "/auth/x509_proxy", verify=ca, cert=proxy, timeout=10)
        assert isinstance(refused.value, requests.exceptions.SSLError) or \
            "without response" in str(refused.value), refused.value
        config, token_file = _x509_config(stack, "x509_proxy", f"client_x509_proxy = {proxy}",
                                          url)
        if token_file.exists():
            os.remove(token_file)
        result = _rucio_whoami(config)
        assert result.returncode != 0 and "carol" not in result.stdout
        assert "SSL" in result.stderr or "certificate" in result.stderr, result.stderr
    anonymous = requests.get(url + "/auth/x509_proxy", verify=ca, headers={
        "X-SSL-Client-S-DN": CAROL, "X-SSL-Client-Verify": "SUCCESS"})
    assert anonymous.status_code == 401
    assert anonymous.headers["ExceptionClass"] == "CannotAuthenticate"
    assert anonymous.headers["ExceptionMessage"] == "Cannot get DN"
    assert "Traceback" not in stack["tls_server"].log()


def test_the_passthrough_port_passes_the_client_address(stack):
    """nginx's PROXY header gives the TLS process the client's address; the header is believed
    from trusted_proxies only, and X-Forwarded-For from a client there is not."""
    tls_server, ca = stack["tls_server"], stack["ca"]
    port = int(stack["passthrough"].rsplit(":", 1)[1])
    answer = proxied_request(port, ca, "/ping?via=nginx", header=b"", source="127.0.0.2",
                             headers="X-Forwarded-For: 198.51.100.1\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    direct = proxied_request(tls_server.port, ca, "/ping?via=header")     # as nginx would
    assert direct.startswith(b"HTTP/1.1 200")
    v2 = proxied_request(tls_server.port, ca, "/ping?via=v2", header=_v2_header("2001:db8::7"))
    assert v2.startswith(b"HTTP/1.1 200")
    assert proxied_request(tls_server.port, ca, header=b"") == b""         # no header: closed
    assert proxied_request(tls_server.port, ca, source="127.0.0.2") == b""  # not trusted
    seen = {line["path"]: line["remote_ip"] for line in _access_lines(tls_server)}
    assert seen["/ping?via=nginx"] == "127.0.0.2"
    assert seen["/ping?via=header"] == "203.0.113.9"
    assert seen["/ping?via=v2"] == "2001:db8::7"
    assert "Traceback" not in tls_server.log()


def _v2_header(client):
    """A PROXY v2 header (as HAProxy's send-proxy-v2 writes it) naming ``client``."""
    from ipaddress import IPv6Address

    from proxyprotocol.result import ProxyResultIPv6
    from proxyprotocol.v2 import ProxyProtocolV2
    return ProxyProtocolV2().pack(ProxyResultIPv6((IPv6Address(client), 5555),
                                                  (IPv6Address("::1"), 443)))


def _access_lines(server):
    return [json.loads(line.split("rucio_tornado.access: ", 1)[1])
            for line in server.log().splitlines() if "rucio_tornado.access: " in line]
