"""Issue 12 against real ``rucio-tornado serve`` processes: URL/header/body limits and memory,
connection timeouts, the accept loop at the open-files limit (``fault``), and PostgreSQL
restarts on a throw-away cluster (``fault``; never the main cluster). Figures:
docs/RELIABILITY.md."""
import json
import resource
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from rucio_tornado import db as dbmodule
from rucio_tornado.core.auth.tokens import TokenService
from tests.live import free_port
from tests.prodtools import Server
from tests.prodtools import TEST_SECRET as SERVER_SECRET

MB = 1 << 20


def _token(account="root"):
    return TokenService(SERVER_SECRET).issue(account)[0]


def _rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def _exchange(port, head, body=b"", send_body_bytes=None, timeout=10):
    """Send a request head (and up to ``send_body_bytes`` of ``body``); return what the server
    answered before closing or ``timeout`` (b"" if it closed without an answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(head.encode())
        if body:
            try:
                sock.sendall(body[:send_body_bytes])
            except (BrokenPipeError, ConnectionResetError):
                pass
        received = b""
        try:
            while b"\r\n\r\n" not in received or not _complete(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received
    finally:
        sock.close()


def _complete(data):
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(rest) >= int(line.split(b":")[1])
    return True


def _rucio_error(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limits")
    server = Server(folder, {"db": f"sqlite:///{folder / 'limits.db'}",
                             "idle_connection_timeout": 1, "body_timeout": 1,
                             "periodic_tasks": "false", "access_log": "false"})
    yield server
    assert server.stop() == 0


# -- item 4 -------------------------------------------------------------------------------------
def test_urls_above_64k_are_414_and_headers_above_64k_are_431(server):
    status, body = _rucio_error(_exchange(server.port, f"GET /accounts/{'a' * 70_000} "
                                          "HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 414 and body["ExceptionClass"] == "InputValidationError"
    status, body = _rucio_error(_exchange(server.port, "GET /ping HTTP/1.1\r\nHost: x\r\n"
                                          f"X-Big: {'b' * 70_000}\r\n\r\n"))
    assert status == 431 and body["ExceptionClass"] == "InputValidationError"
    # beyond Tornado's transport cap (64 KiB + 64 KiB + 4 KiB) the connection is just closed
    assert _exchange(server.port, "GET /ping HTTP/1.1\r\nHost: x\r\n"
                     f"X-Big: {'b' * 200_000}\r\n\r\n") == b""
    assert requests.get(server.url + "/ping").status_code == 200


def test_large_bodies_cost_no_memory_and_get_an_answer(server):
    pid = server.process.pid
    before = _rss(pid)
    body = b"x" * (90 * MB)
    threads = [threading.Thread(target=_exchange, args=(
        server.port, f"POST /replicas/list HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
        "\r\n\r\n", body)) for _ in range(4)]          # unauthenticated
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    growth = _rss(pid) - before
    assert growth < 32 * MB, f"grew by {growth / MB:.0f} MiB"
    token = _token()
    status, error = _rucio_error(_exchange(
        server.port, f"POST /replicas/list HTTP/1.1\r\nHost: x\r\nX-Rucio-Auth-Token: {token}"
        f"\r\nContent-Length: {101 * MB}\r\n\r\n"))        # answered before the body is sent
    assert status == 413 and error["ExceptionClass"] == "InputValidationError"
    listed = requests.post(server.url + "/replicas/list", headers={"X-Rucio-Auth-Token": token},
                           data=json.dumps({"dids": [{"scope": "mock", "name": "f"}]}))
    assert listed.status_code == 200


# -- item 5: connection timeouts ----------------------------------------------------------------
def test_idle_connections_and_slow_bodies_are_closed(server):
    started = time.monotonic()
    assert _exchange(server.port, "", timeout=10) == b""               # idle: closed
    assert 0.5 < time.monotonic() - started < 5
    started = time.monotonic()
    assert _exchange(server.port, "POST /auth/token HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 100\r\n\r\n{", timeout=10) == b""   # body never completes
    assert time.monotonic() - started < 5


@pytest.mark.fault
def test_the_accept_loop_backs_off_at_the_open_files_limit(tmp_path):
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
    server = Server(tmp_path, {"db": f"sqlite:///{tmp_path / 'fd.db'}",
                               "periodic_tasks": "false", "access_log": "false"},
                    preexec_fn=low_limit)
    clients = []
    try:
        for _ in range(200):        # more than 128 descriptors, less than those + the backlog
            clients.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(1.0)
        cpu = _cpu_seconds(server.process.pid)
        time.sleep(4.0)
        spent = _cpu_seconds(server.process.pid) - cpu
        lines = server.log().count("accept() failed")
        assert spent < 1.0, f"{spent:.2f} s CPU in 4 s at the open-files limit"
        assert 1 <= lines <= 3, lines
        for sock in clients:
            sock.close()
        clients = []
        deadline = time.time() + 15
        while True:
            try:
                assert requests.get(server.url + "/ping", timeout=2).status_code == 200
                break
            except requests.RequestException:
                assert time.time() < deadline, "the server did not recover"
                time.sleep(0.2)
    finally:
        for sock in clients:
            sock.close()
        assert server.stop() == 0


# -- item 6: PostgreSQL restarts -----------------------------------------------------------------
class ThrowAwayCluster:
    """A PostgreSQL cluster of our own on a free port (``pg_createcluster``), restarted and
    stopped at will; dropped at the end. Never the main cluster."""

    def __init__(self):
        self.version = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True,
                                      check=True).stdout.split()[0]
        self.name, self.port = f"rt_i12_{free_port()}", free_port()
        self._ctl("pg_createcluster", "--port", str(self.port), "--start", "--",
                  "--auth-host=trust", "--auth-local=trust")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, program, *args):
        subprocess.run([program, self.version, self.name, *args], check=True,
                       capture_output=True, timeout=60)

    def ctl(self, action):
        subprocess.run(["pg_ctlcluster", self.version, self.name, action], check=True,
                       capture_output=True, timeout=60)

    def drop(self):
        self._ctl("pg_dropcluster", "--stop")


@pytest.fixture
def cluster():
    if not Path("/usr/bin/pg_createcluster").exists():
        pytest.skip("pg_createcluster (postgresql-common) is not installed")
    created = ThrowAwayCluster()
    yield created
    created.drop()


def _fill(server, headers, count):
    """``count`` datasets in scope ``restart`` (one bulk call): a listing that streams from a
    server-side cursor (``/dids/restart/dids/search``)."""
    assert requests.post(f"{server.url}/accounts/root/scopes/restart",
                         headers=headers).status_code == 201
    response = requests.post(server.url + "/dids", headers=headers, data=json.dumps(
        [{"scope": "restart", "name": f"ds{i:06d}", "type": "DATASET"} for i in range(count)]))
    assert response.status_code == 201, response.text


@pytest.mark.fault
def test_streams_survive_a_postgresql_restart_and_an_outage_is_clean(tmp_path, cluster):
    count = 3000
    server = Server(tmp_path, {"db": cluster.url, "periodic_tasks": "false",
                               "db_stream_pool_size": 4, "access_log": "false"})
    headers = {"X-Rucio-Auth-Token": _token()}
    search = f"{server.url}/dids/restart/dids/search?name=*"

    def listing():
        return requests.get(search, headers=headers, timeout=30)
    try:
        _fill(server, headers, count)
        held = [requests.get(search, headers=headers, stream=True)
                for _ in range(4)]              # four stream connections, then pooled
        for response in held:
            assert next(response.iter_content(100))
            response.close()
        time.sleep(0.5)
        cluster.ctl("restart")
        for _ in range(8):
            response = listing()
            assert response.status_code == 200, response.text
            assert len(response.text.splitlines()) == count
        assert requests.get(server.url + "/accounts/root", headers=headers).status_code == 200

        cluster.ctl("stop")
        for url in (search, server.url + "/accounts/root"):
            response = requests.get(url, headers=headers, timeout=30)
            assert response.status_code == 500
            error = response.json()
            assert error == {"ExceptionClass": "DatabaseException",
                             "ExceptionMessage": dbmodule.UNAVAILABLE_MESSAGE}
            assert str(cluster.port) not in response.headers["ExceptionMessage"]
        assert requests.get(server.url + "/health", timeout=30).status_code == 503
        cluster.ctl("start")
        assert requests.get(server.url + "/health", timeout=30).status_code == 200
        assert listing().status_code == 200
    finally:
        assert server.stop() == 0
