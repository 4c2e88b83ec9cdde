"""Production mode: refusals, TLS only, trusted proxies, metrics, health, access log,
graceful shutdown, several processes, periodic tasks."""
import asyncio
import http.client
import logging
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests
import ujson
from prometheus_client.parser import text_string_to_metric_families

from rucio_tornado import cli, daemon
from rucio_tornado.app import make_app
from rucio_tornado.config import Settings, validate
from rucio_tornado.core import events
from rucio_tornado.core.auth.tokens import TokenService
from rucio_tornado.db import Database
from rucio_tornado import migrations
from rucio_tornado.models import Account
from tests.conftest import TEST_SECRET, Api, create_pg_database, drop_pg_database
from tests.prodtools import ROOT_PASSWORD, Server, children_of, make_certificates
from tests.prodtools import TEST_SECRET as SERVER_SECRET

GOOD = dict(mode="production", db="postgresql://rucio@db:5432/rucio", jwt_secret="x" * 32,
            root_password="not-the-default", trusted_proxies="127.0.0.1")


# -- validation --------------------------------------------------------------------------------
def test_development_defaults_are_valid():
    assert validate(Settings()) == []


def test_a_complete_production_configuration_is_valid(tmp_path):
    assert validate(Settings(**GOOD)) == []
    private, public = tmp_path / "jwt.key", tmp_path / "jwt.pub"
    private.write_text("k")
    public.write_text("k")
    assert validate(Settings(**dict(GOOD, jwt_secret="", jwt_algorithm="RS256",
                                    jwt_private_key_file=str(private),
                                    jwt_public_key_file=str(public)))) == []
    assert validate(Settings(**dict(GOOD, db="sqlite:///x.db",
                                    allow_sqlite_in_production=True))) == []


@pytest.mark.parametrize("changes, message", [
    ({"jwt_secret": ""}, "jwt_secret"),
    ({"jwt_secret": "short"}, "at least 32 characters"),
    ({"jwt_secret": "", "jwt_algorithm": "RS256"}, "RS256 needs jwt_private_key_file"),
    ({"jwt_algorithm": "none"}, "jwt_algorithm must be HS256 or RS256"),
    ({"db": ""}, "PostgreSQL"),
    ({"db": "sqlite:///x.db"}, "allow_sqlite_in_production"),
    ({"root_password": "secret"}, "default or an empty root_password"),
    ({"root_password": ""}, "default or an empty root_password"),
    ({"trusted_proxies": ""}, "production requires TLS"),
    ({"trusted_proxies": "not-an-address"}, "trusted_proxies"),
    ({"ssl_certfile": "/nonexistent.pem"}, "ssl_certfile and ssl_keyfile must be set together"),
    ({"processes": 0}, "processes must be at least 1"),
    ({"mode": "staging"}, "mode must be one of"),
])
def test_each_production_refusal_has_a_clear_message(changes, message):
    problems = validate(Settings(**dict(GOOD, **changes)))
    assert problems and any(message in problem for problem in problems), problems


def test_the_production_example_is_valid_once_its_secrets_are_set():
    example = Path(__file__).resolve().parent.parent / "conf" / "production.cfg.example"
    settings = Settings.load(str(example), environ={
        "RUCIO_TORNADO_JWT_SECRET": "s" * 40, "RUCIO_TORNADO_ROOT_PASSWORD": "p" * 12})
    assert settings.is_production and validate(settings) == []
    assert not settings.runs_periodic_tasks
    assert validate(Settings.load(str(example), environ={}))      # without them: refused


def test_serve_refuses_to_start_with_exit_code_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RUCIO_TORNADO_MODE", "production")
    monkeypatch.setenv("RUCIO_TORNADO_DATA_DIR", str(tmp_path))
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "refusing to start in production mode" in err
    for fragment in ("jwt_secret", "PostgreSQL", "root_password", "requires TLS"):
        assert fragment in err


# -- request checks, metrics, health, access log (in-process, both databases) ----------------
@pytest.fixture
def trusted():
    return "127.0.0.1"


@pytest.fixture
def settings(tmp_path, trusted):
    return Settings(mode="production", data_dir=str(tmp_path), jwt_secret=TEST_SECRET,
                    trusted_proxies=trusted, periodic_tasks=False)


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.mark.gen_test
async def test_plain_http_is_refused_in_production(api):
    response = await api.get("/accounts/whoami")
    assert response.status == 403
    assert response.exception_class == "AccessDenied"
    assert response.headers["ExceptionMessage"] == "SSL is required"
    assert "Location" not in response.headers
    assert (await api.get("/nosuchroute")).status == 403


@pytest.mark.gen_test
async def test_forwarded_https_from_a_trusted_proxy_is_accepted(api):
    response = await api.get("/accounts/whoami", headers=HTTPS)
    assert response.status == 200 and response.json()["account"] == "root"


@pytest.mark.gen_test
@pytest.mark.parametrize("trusted", ["10.0.0.1, 192.168.0.0/16"])
async def test_forwarded_headers_from_untrusted_peers_are_ignored(api):
    response = await api.get("/accounts/whoami", headers=dict(HTTPS, **{
        "X-Forwarded-For": "10.0.0.1"}))
    assert response.status == 403 and response.headers["ExceptionMessage"] == "SSL is required"


@pytest.mark.gen_test
async def test_ping_health_metrics_answer_over_plain_http(api):
    anon = api.as_(None)
    assert (await anon.get("/ping")).status == 200
    health = await anon.get("/health")
    assert health.status == 200 and health.json() == {"status": "ok", "database": "ok"}
    assert (await anon.get("/metrics")).status == 200


@pytest.mark.gen_test
async def test_health_is_503_when_the_database_fails(api, db, monkeypatch):
    def broken():
        raise RuntimeError("database down")
    monkeypatch.setattr(db, "ping", broken)
    health = await api.as_(None).get("/health")
    assert health.status == 503 and health.json()["database"] == "unreachable"


def _samples(text, name):
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                yield sample.labels, sample.value


def _value(text, name, **labels):
    return sum(value for found, value in _samples(text, name)
               if all(found.get(k) == v for k, v in labels.items()))


@pytest.mark.gen_test
async def test_metrics_move_after_requests(api):
    before = (await api.get("/metrics")).text
    for _ in range(3):
        assert (await api.get("/accounts/root", headers=HTTPS)).status == 200
    listing = await api.get("/accounts", headers=HTTPS)
    assert listing.status == 200
    after = (await api.get("/metrics")).text
    ok = dict(route="/accounts/{}", method="GET", status="200")
    assert _value(after, "rucio_http_requests_total", **ok) == \
        _value(before, "rucio_http_requests_total", **ok) + 3
    assert _value(after, "rucio_http_request_duration_seconds_count", route="/accounts/{}") >= 3
    assert _value(after, "rucio_streamed_rows_total", route="/accounts") >= \
        _value(before, "rucio_streamed_rows_total", route="/accounts") + len(listing.lines())
    assert list(_samples(after, "rucio_open_streams"))
    assert list(_samples(after, "rucio_db_pool_in_use"))
    assert list(_samples(after, "rucio_db_stream_pool_in_use"))


@pytest.mark.gen_test
async def test_access_log_is_structured_and_never_contains_the_token(api, caplog):
    caplog.set_level(logging.DEBUG)
    token = api.token
    await api.get("/accounts/root", headers=dict(HTTPS, **{"X-Forwarded-For": "192.0.2.7"}))
    await api.get("/accounts/root", headers={"Authorization": "Bearer " + token})
    await api.get("/auth/validate", headers=HTTPS)
    lines = [ujson.loads(r.getMessage()) for r in caplog.records
             if r.name == "rucio_tornado.access"]
    assert lines[0] == {"method": "GET", "route": "/accounts/{}", "path": "/accounts/root",
                        "status": 200,
                        "bytes": lines[0]["bytes"], "duration_ms": lines[0]["duration_ms"],
                        "account": "root", "rows": 0, "remote_ip": "192.0.2.7"}
    assert lines[0]["bytes"] > 0
    assert [line["status"] for line in lines] == [200, 403, 200]
    assert token not in caplog.text


@pytest.mark.gen_test
async def test_access_log_path_redacts_sensitive_query_values(api, caplog):
    caplog.set_level(logging.DEBUG)
    await api.get("/accounts/root?token=tok-VALUE-1&X-Rucio-Password=pw-VALUE-2&name=visible"
                  "&api_key=k-VALUE-3", headers=HTTPS)
    await api.as_(None).get("/auth/userpass", headers=dict(
        HTTPS, **{"X-Rucio-Username": "ddmlab", "X-Rucio-Password": "secret"}))
    lines = [ujson.loads(r.getMessage()) for r in caplog.records
             if r.name == "rucio_tornado.access"]
    assert lines[0]["path"] == ("/accounts/root?token=***&X-Rucio-Password=***&name=visible"
                                "&api_key=***")
    assert lines[1]["path"] == "/auth/userpass" and lines[1]["status"] == 200
    for secret in ("VALUE", "secret", api.token):
        assert secret not in caplog.text


@pytest.mark.gen_test
async def test_a_crashing_request_logs_no_token(db, settings, tokens, http_client, base_url,
                                                caplog):
    def boom(handler):
        raise RuntimeError("boom")
    app = make_app(settings, db, tokens=tokens, request_checks=[boom])
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    caplog.set_level(logging.DEBUG)
    api = Api(http_client, f"http://127.0.0.1:{port}", tokens)
    response = await api.get("/accounts/root?x=1", headers=HTTPS)
    assert response.status == 500
    server.stop()
    assert "boom" in caplog.text and api.token not in caplog.text


# -- periodic tasks ----------------------------------------------------------------------------
@pytest.fixture
def fake_task(monkeypatch):
    calls = []
    monkeypatch.setattr(daemon, "load_tasks", lambda: {"fake": lambda: calls.append(1) or 7})
    monkeypatch.setattr(events, "TASKS", {"fake": lambda: calls.append(1) or 7})
    return calls


def test_daemon_once_runs_the_registered_tasks(fake_task, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert cli.main(["--db", url, "daemon", "all", "--once"]) == 0
    assert cli.main(["--db", url, "daemon", "fake", "--once"]) == 0
    assert fake_task == [1, 1]
    assert cli.main(["--db", url, "daemon", "nosuch", "--once"]) == 2
    assert "registered: fake" in capsys.readouterr().err


def test_daemon_runs_the_real_tasks(tmp_path):
    url = f"sqlite:///{tmp_path / 'real.db'}"
    assert cli.main(["--db", url, "db", "init"]) == 0
    assert daemon.load_tasks() is events.TASKS and events.TASKS
    assert cli.main(["--db", url, "daemon", "all", "--once"]) == 0


def test_daemon_loops_until_sigterm(tmp_path):
    import subprocess
    import sys
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    assert cli.main(["--db", url, "db", "init"]) == 0
    process = subprocess.Popen([sys.executable, "-m", "rucio_tornado", "--db", url, "daemon",
                                "all", "--interval", "0.1"], stderr=subprocess.PIPE, text=True)
    seen = []
    for line in process.stderr:          # the signal only once the loop runs (a loaded machine)
        seen.append(line)
        if sum("rucio_tornado.daemon: task " in s for s in seen) >= 2:
            break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=20)
    err = "".join(seen) + rest
    assert process.returncode == 0, err
    assert err.count("rucio_tornado.daemon: task ") >= 2 and "daemon stopping" in err


@pytest.mark.gen_test
async def test_development_runs_tasks_in_process(fake_task, tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        callback = daemon.start_periodic(database, 0.02)
        await asyncio.sleep(0.2)
        callback.stop()
    finally:
        database.close()
    assert len(fake_task) >= 2
    assert Settings().runs_periodic_tasks
    assert not Settings(processes=2).runs_periodic_tasks
    assert not Settings(mode="production").runs_periodic_tasks


# -- real server processes ---------------------------------------------------------------------
def _token(account="root"):
    return TokenService(SERVER_SECRET).issue(account)[0]


def test_tls_terminated_by_the_server(tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    server = Server(tmp_path, {"mode": "production", "allow_sqlite_in_production": "true",
                               "db": f"sqlite:///{tmp_path / 't.db'}",
                               "root_password": ROOT_PASSWORD, "ssl_certfile": cert,
                               "ssl_keyfile": key, "ssl_client_ca": ca}, scheme="https", ca=ca)
    token = _token()
    try:
        whoami = requests.get(server.url + "/accounts/whoami", verify=ca,
                              headers={"X-Rucio-Auth-Token": token})
        assert whoami.status_code == 200 and whoami.json()["account"] == "root"
        issued = requests.get(server.url + "/auth/userpass", verify=ca, headers={
            "X-Rucio-Username": "ddmlab", "X-Rucio-Password": ROOT_PASSWORD})
        assert issued.status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url.replace("https:", "http:") + "/accounts/whoami", timeout=5,
                         headers={"X-Rucio-Auth-Token": token})
        assert f"at https://127.0.0.1:{server.port}" in server.output()
    finally:
        assert server.stop() == 0
    log = server.log()
    assert '"route":"/accounts/whoami"' in log and '"account":"root"' in log
    assert token not in log and issued.headers["X-Rucio-Auth-Token"] not in log
    assert ROOT_PASSWORD not in log


def _fill_accounts(url, count):
    """``count`` accounts in a fresh SQLite database, fast (plain sqlite3 executemany)."""
    import sqlite3
    database = Database(url)
    migrations.create(database)
    database.close()
    table = Account._meta.table_name
    with sqlite3.connect(url[len("sqlite:///"):]) as conn:
        conn.executemany(
            f'INSERT INTO "{table}" (account, account_type, status, email, created_at, '
            "updated_at) VALUES (?, 'USER', 'ACTIVE', ?, '2020-01-01 00:00:00', "
            "'2020-01-01 00:00:00')",
            ((f"user{i:07d}", f"user{i:07d}@example.org") for i in range(count)))


def test_sigterm_lets_a_running_stream_finish(tmp_path):
    count = 120_000
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fill_accounts(url, count)
    server = Server(tmp_path, {"db": url, "shutdown_timeout": 20})
    kept_alive = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    kept_alive.request("GET", "/ping")
    assert kept_alive.getresponse().read()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET /accounts HTTP/1.1\r\nHost: x\r\nX-Rucio-Auth-Token: {_token()}\r\n"
                 "Connection: close\r\n\r\n".encode())
    received = [sock.recv(4096)]
    assert received[0].startswith(b"HTTP/1.1 200")
    assert _value(requests.get(server.url + "/metrics").text, "rucio_open_streams") == 1
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.process.poll() is None, "the server quit with a stream in flight"
    with pytest.raises(requests.ConnectionError):   # no longer accepting
        requests.get(server.url + "/ping", timeout=2)
    kept_alive.request("GET", "/ping")                # an open connection is told to go
    response = kept_alive.getresponse()
    assert response.status == 200 and response.getheader("Connection") == "close"
    kept_alive.close()
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        received.append(chunk)
    sock.close()
    body = b"".join(received).split(b"\r\n\r\n", 1)[1]
    assert body.count(b'"account":"user') == count     # chunked framing aside, every row
    assert body.rstrip().endswith(b"0")                 # the terminating chunk arrived
    assert server.process.wait(timeout=20) == 0


@pytest.fixture
def pg_url():
    url = create_pg_database("rt_prod")
    yield url
    drop_pg_database(url)


def test_serve_with_two_processes(tmp_path, pg_url):
    server = Server(tmp_path, {"db": pg_url}, serve_args=["--processes", "2"])
    try:
        workers = children_of(server.process.pid)
        assert len(workers) == 2
        headers = {"X-Rucio-Auth-Token": _token()}
        session = requests.Session()
        for i in range(10):
            response = requests.post(f"{server.url}/accounts/multi{i}", headers=headers,
                                     json={"type": "USER", "email": None})
            assert response.status_code == 201, response.text
        listing = session.get(server.url + "/accounts", headers=headers)
        assert sum(line.startswith('{"account":"multi') for line in
                   listing.text.splitlines()) == 10
        metrics = requests.get(server.url + "/metrics").text
        assert _value(metrics, "rucio_http_requests_total", route="/accounts/{}",
                      method="POST", status="201") == 10      # summed over both workers
        assert "2 processes" in server.output()
        os.kill(workers[0], signal.SIGKILL)            # a crashed worker is replaced
        deadline = time.time() + 10
        while time.time() < deadline and (workers[0] in children_of(server.process.pid) or
                                          len(children_of(server.process.pid)) < 2):
            time.sleep(0.05)
        replaced = children_of(server.process.pid)
        assert len(replaced) == 2 and workers[0] not in replaced
        workers = replaced
        assert requests.get(server.url + "/health").status_code == 200
    finally:
        assert server.stop() == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


@pytest.mark.parametrize("peer, forwarded_for, proto, remote_ip, protocol", [
    ("127.0.0.1", "192.0.2.1", "https", "192.0.2.1", "https"),
    ("127.0.0.1", "192.0.2.1, 10.1.2.3", "https", "192.0.2.1", "https"),   # via two proxies
    ("127.0.0.1", "198.51.100.9, 192.0.2.1", "https", "192.0.2.1", "https"),  # spoofed left
    ("127.0.0.1", "garbage", "https", "127.0.0.1", "https"),
    ("127.0.0.1", "", "http", "127.0.0.1", "http"),
    ("192.0.2.50", "192.0.2.1", "https", "192.0.2.50", "http"),            # untrusted peer
])
def test_forwarded_headers_unit(peer, forwarded_for, proto, remote_ip, protocol):
    from types import SimpleNamespace

    from tornado.httputil import HTTPHeaders

    from rucio_tornado.web.security import ForwardedHeaders
    request = SimpleNamespace(remote_ip=peer, protocol="http", headers=HTTPHeaders(
        {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": proto}))
    ForwardedHeaders("127.0.0.1, 10.0.0.0/8")(SimpleNamespace(request=request))
    assert (request.remote_ip, request.protocol) == (remote_ip, protocol)


def test_rs256_key_pair_from_files(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = tmp_path / "jwt.key", tmp_path / "jwt.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = Settings(**dict(GOOD, jwt_secret="", jwt_algorithm="RS256",
                               jwt_private_key_file=str(private),
                               jwt_public_key_file=str(public)))
    assert validate(settings) == []
    issuer = TokenService.from_settings(settings)
    verifier = TokenService.from_settings(Settings(**dict(GOOD, jwt_algorithm="RS256",
                                                          jwt_public_key_file=str(public))))
    assert verifier.decode(issuer.issue("root")[0])["sub"] == "root"
