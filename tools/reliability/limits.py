"""The figures of docs/RELIABILITY.md (items 4 and 5): big bodies, long URLs and headers,
password guessing, the open-files limit. Starts development servers (SQLite) in SCRATCH_DIR.

    PYTHONPATH=$PWD python tools/reliability/limits.py SCRATCH_DIR
"""
import resource
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

from tests.prodtools import Server
from tests.test_hardening_server import MB, _cpu_seconds, _exchange, _rss, _token

QUIET = {"periodic_tasks": "false", "access_log": "false"}


def _server(folder, name, extra=None, **kwargs):
    return Server(folder / name, dict(QUIET, db=f"sqlite:///{folder / name}.db", **(extra or {})),
                  **kwargs)


def _status_line(raw):
    return raw.split(b"\r\n")[0].decode()


def bodies_urls_headers(server):
    pid, before, started = server.process.pid, _rss(server.process.pid), time.monotonic()
    body = b"x" * (90 * MB)
    head = f"POST /replicas/list HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    threads = [threading.Thread(target=_exchange, args=(server.port, head, body))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"4 unauthenticated 90 MB bodies: RSS {before / MB:.0f} -> {_rss(pid) / MB:.0f} MiB, "
          f"{time.monotonic() - started:.2f} s")
    raw = _exchange(server.port, f"POST /replicas/list HTTP/1.1\r\nHost: x\r\n"
                    f"X-Rucio-Auth-Token: {_token()}\r\nContent-Length: {101 * MB}\r\n\r\n")
    print("101 MB declared, authenticated:", _status_line(raw), raw.split(b"\r\n\r\n")[1])
    raw = _exchange(server.port, f"GET /accounts/{'a' * 70000} HTTP/1.1\r\nHost: x\r\n\r\n")
    print("70 KB URL:", _status_line(raw))
    raw = _exchange(server.port, f"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 70000}\r\n\r\n")
    print("70 KB header:", _status_line(raw))


def _login(url, password):
    return requests.get(url + "/auth/userpass", headers={"X-Rucio-Username": "ddmlab",
                                                         "X-Rucio-Password": password})


def guessing(server):
    started = time.monotonic()
    codes = [_login(server.url, f"guess{i}").status_code for i in range(60)]
    right = _login(server.url, "secret")
    print(f"60 wrong guesses in {time.monotonic() - started:.1f} s:",
          {code: codes.count(code) for code in set(codes)}, "then the right password:",
          right.status_code, "Retry-After", right.headers.get("Retry-After"))


def hashing_isolation(server):
    """Latency of an authenticated request while 4 clients guess (throttle off)."""
    headers, session = {"X-Rucio-Auth-Token": _token()}, requests.Session()

    def latency(count=200):
        times = []
        for _ in range(count):
            started = time.perf_counter()
            session.get(server.url + "/accounts/root", headers=headers)
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000, sorted(times)[int(count * 0.95)] * 1000

    print("idle: median {:.2f} ms, p95 {:.2f} ms".format(*latency()))
    stop = threading.Event()

    def guess():
        while not stop.is_set():
            _login(server.url, "wrong")
    threads = [threading.Thread(target=guess) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    print("4 guessers: median {:.2f} ms, p95 {:.2f} ms".format(*latency()))
    stop.set()
    for thread in threads:
        thread.join()


def open_files_limit(server):
    clients = [socket.create_connection(("127.0.0.1", server.port), timeout=5)
               for _ in range(200)]
    time.sleep(1)
    cpu = _cpu_seconds(server.process.pid)
    time.sleep(15)
    spent = _cpu_seconds(server.process.pid) - cpu
    print(f"nofile 128, 200 clients: {spent:.2f} s CPU in 15 s, "
          f"{server.log().count('accept() failed')} log lines")
    for sock in clients:
        sock.close()
    started = time.monotonic()
    while True:
        try:
            if requests.get(server.url + "/ping", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    print(f"/ping answers {time.monotonic() - started:.2f} s after the clients left")


def _low_open_files_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def main(folder):
    for name, step, extra, kwargs in [
            ("limits", bodies_urls_headers, None, {}),
            ("guessing", guessing, None, {}),
            ("hashing", hashing_isolation, {"login_max_failures": 10 ** 9}, {}),
            ("files", open_files_limit, None, {"preexec_fn": _low_open_files_limit})]:
        server = _server(folder, name, extra, **kwargs)
        try:
            step(server)
        finally:
            server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
