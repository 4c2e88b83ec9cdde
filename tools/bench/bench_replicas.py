"""Replica-scale benchmark (not a test): register N files into one dataset through the API, then
stream every big listing from a fresh server and compare with a bare Tornado handler.

    python tools/bench/bench_replicas.py --backend sqlite --files 100000
    python tools/bench/bench_replicas.py --backend postgresql --files 1000000

Steps: start ``rucio-tornado serve`` on a new database; create scope, RSE, protocol and dataset;
``POST /replicas`` in bulk calls of ``--chunk`` files and attach them to the dataset
(``POST /dids/{s}/{n}/dids``), printing progress; restart the server (so its peak RSS reflects
the listings only); stream each listing once (rows/s, MB/s, time to first byte); stream the same
join through ``baseline_server.py``; run four replica listings at once while pinging ``/ping``;
read the server's ``VmHWM``. Prints one markdown table row per measurement.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SCOPE, DATASET, RSE = "bench", "dataset", "BENCH-MOCK"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(url, process, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if requests.get(url + "/ping", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not come up")


class Server:
    def __init__(self, args, db_url, workdir, command):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(workdir) / f"server-{self.port}.log", "w")
        self.process = subprocess.Popen(command(db_url, self.port), stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=ROOT)
        wait_up(self.url, self.process)

    def peak_rss_mb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def tornado_server(workdir):
    return lambda db_url, port: [sys.executable, "-m", "rucio_tornado", "--data-dir",
                                 str(Path(workdir) / "var"), "--db", db_url, "serve",
                                 "--port", str(port)]


def baseline_server(db_url, port):
    return [sys.executable, str(ROOT / "tools/bench/baseline_server.py"), "--db", db_url,
            "--port", str(port)]


def token(url):
    response = requests.get(url + "/auth/userpass", headers={
        "X-Rucio-Account": "root", "X-Rucio-Username": "ddmlab", "X-Rucio-Password": "secret"})
    response.raise_for_status()
    return response.headers["X-Rucio-Auth-Token"]


def call(session, method, url, body=None, ok=(200, 201)):
    response = session.request(method, url, data=None if body is None else json.dumps(body))
    if response.status_code not in ok:
        raise SystemExit(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response


# -- loading -----------------------------------------------------------------------------------
def load(url, files, chunk):
    session = requests.Session()
    session.headers["X-Rucio-Auth-Token"] = token(url)
    call(session, "POST", f"{url}/accounts/root/scopes/{SCOPE}", ok=(201, 409))
    call(session, "POST", f"{url}/rses/{RSE}", {}, ok=(201, 409))
    call(session, "POST", f"{url}/rses/{RSE}/protocols/file", {
        "scheme": "file", "hostname": "localhost", "port": 0, "prefix": "/rucio",
        "impl": "rucio.rse.protocols.posix.Default",
        "domains": {"wan": {"read": 1, "write": 1, "delete": 1, "third_party_copy_read": 1,
                            "third_party_copy_write": 1},
                    "lan": {"read": 1, "write": 1, "delete": 1}}}, ok=(201, 409))
    call(session, "POST", f"{url}/dids/{SCOPE}/{DATASET}", {"type": "DATASET"}, ok=(201, 409))
    register = attach = 0.0
    for start in range(0, files, chunk):
        batch = [{"scope": SCOPE, "name": f"file_{i:08d}", "bytes": 1000 + i % 1000,
                  "adler32": "0cc737eb"} for i in range(start, min(files, start + chunk))]
        t0 = time.perf_counter()
        call(session, "POST", f"{url}/replicas", {"rse": RSE, "files": batch})
        t1 = time.perf_counter()
        call(session, "POST", f"{url}/dids/{SCOPE}/{DATASET}/dids",
             {"dids": [{"scope": SCOPE, "name": f["name"]} for f in batch]})
        t2 = time.perf_counter()
        register, attach = register + t1 - t0, attach + t2 - t1
        done = start + len(batch)
        print(f"  loaded {done:>9,} files: register {len(batch) / (t1 - t0):>8,.0f} files/s, "
              f"attach {len(batch) / (t2 - t1):>8,.0f} files/s", flush=True)
    return files / register, files / attach


# -- consuming ---------------------------------------------------------------------------------
LISTINGS = {
    "replicas POST /replicas/list": ("POST", "/replicas/list",
                                     {"dids": [{"scope": SCOPE, "name": DATASET}]}),
    "replicas GET /replicas/{s}/{n}": ("GET", f"/replicas/{SCOPE}/{DATASET}", None),
    "replicas GET /dids/{s}/{n}/rses/": ("GET", f"/dids/{SCOPE}/{DATASET}/rses/", None),
    "DID content GET /dids/{s}/{n}/dids": ("GET", f"/dids/{SCOPE}/{DATASET}/dids", None),
    "DID files GET /dids/{s}/{n}/files": ("GET", f"/dids/{SCOPE}/{DATASET}/files", None),
    "DID search GET /dids/{s}/dids/search": (
        "GET", f"/dids/{SCOPE}/dids/search?type=file&long=True", None),
}


def stream(url, method, path, body, tok):
    """(rows, bytes, seconds, seconds to first byte) of one streamed listing."""
    headers = {"X-Rucio-Auth-Token": tok} if tok else {}
    t0 = time.perf_counter()
    response = requests.request(method, url + path, headers=headers, stream=True,
                                data=None if body is None else json.dumps(body))
    if response.status_code != 200:
        return None
    rows = size = 0
    first = None
    for piece in response.iter_content(256 * 1024):
        if first is None:
            first = time.perf_counter() - t0
        rows += piece.count(b"\n")
        size += len(piece)
    return rows, size, time.perf_counter() - t0, first or 0.0


def report(label, result, baseline=None, rss=None):
    if result is None:
        print(f"| {label} | not available | | | | | |", flush=True)
        return None
    rows, size, seconds, first = result
    rate = rows / seconds
    ratio = f"{rate / baseline:.2f}" if baseline else ""
    rss = f"{rss:.1f}" if rss else ""
    print(f"| {label} | {rows:,} | {rate:,.0f} | {size / seconds / 1e6:.1f} | "
          f"{first * 1000:.1f} | {ratio} | {rss} |", flush=True)
    return rate


def ping_under_load(url, tok, listeners=4):
    """p50/p99 of ``/ping`` (ms) while ``listeners`` replica listings run at once (each read by
    a ``curl`` process, so the readers do not compete with the pinger for this process's GIL)."""
    method, path, body = LISTINGS["replicas POST /replicas/list"]
    readers = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-X", method,
                                 "-H", f"X-Rucio-Auth-Token: {tok}", "-d", json.dumps(body),
                                 url + path]) for _ in range(listeners)]
    session, latencies = requests.Session(), []
    time.sleep(0.2)
    while any(reader.poll() is None for reader in readers):
        t0 = time.perf_counter()
        session.get(url + "/ping")
        latencies.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)
    latencies.sort()
    return (statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1],
            len(latencies))


def consume(args, db_url, workdir):
    baseline = Server(args, db_url, workdir, baseline_server)
    server = Server(args, db_url, workdir, tornado_server(workdir))
    try:
        tok = token(server.url)
        stream(server.url, "GET", f"/replicas/{SCOPE}/file_00000000", None, tok)   # warm up
        print(f"\nserver peak RSS before listings: {server.peak_rss_mb():.1f} MB")
        if args.warm:   # one unmeasured pass of the same listing on both servers
            stream(baseline.url, "GET", f"/replicas/{SCOPE}/{DATASET}", None, None)
            stream(server.url, "GET", f"/replicas/{SCOPE}/{DATASET}", None, tok)
            print(f"server peak RSS after one warm-up listing: {server.peak_rss_mb():.1f} MB")
        bare = [stream(baseline.url, "GET", f"/replicas/{SCOPE}/{DATASET}", None, None)]
        ours = []
        for label, (method, path, body) in LISTINGS.items():
            ours.append((label, stream(server.url, method, path, body, tok),
                         server.peak_rss_mb()))
        bare.append(stream(baseline.url, "GET", f"/replicas/{SCOPE}/{DATASET}", None, None))
        # the ratio is to the FASTER of the two bare runs (before and after ours)
        best = max(rows / seconds for rows, _, seconds, _ in bare)
        print("\n| listing | rows | rows/s | MB/s | first byte ms | ratio to best bare "
              "| server VmHWM MB after |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        report("bare Tornado handler (same join, ujson), before", bare[0])
        for label, result, rss in ours:
            report(label, result, best, rss)
        report("bare Tornado handler, after", bare[1])
        p50, p99, count = ping_under_load(server.url, tok)
        print(f"\n/ping while 4 replica listings run: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"({count} pings)")
        print(f"server peak RSS (VmHWM) after all listings: {server.peak_rss_mb():.1f} MB")
    finally:
        server.stop()
        baseline.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--db", help="an already loaded database: only stream the listings")
    parser.add_argument("--warm", action="store_true",
                        help="stream the replica listing once, unmeasured, from both servers "
                             "(warm caches on both sides) before measuring")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="rt-bench-")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    if args.db:
        db_url = args.db
        args.backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
        args.keep = True
    elif args.backend == "sqlite":
        db_url = f"sqlite:///{workdir}/bench.db"
    else:
        from rucio_tornado.testing import create_pg_database
        db_url = create_pg_database("rt_bench")
    print(f"# {args.backend}, {args.files:,} files, workdir {workdir}, load "
          f"{os.getloadavg()[0]:.1f}")
    try:
        if not args.db:
            loader = Server(args, db_url, workdir, tornado_server(workdir))
            try:
                t0 = time.perf_counter()
                register, attach = load(loader.url, args.files, args.chunk)
                print(f"loaded in {time.perf_counter() - t0:.1f} s: register {register:,.0f} "
                      f"files/s, attach {attach:,.0f} files/s")
            finally:
                loader.stop()
        consume(args, db_url, workdir)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if args.backend == "postgresql" and not args.keep:
            from rucio_tornado.testing import drop_pg_database
            drop_pg_database(db_url)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
