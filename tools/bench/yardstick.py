"""Issue 15's listing and registration figures in one run, side by side with their baselines
(benchmark, not a test). Uses the shared yardstick scripts where they are (never copies them):

    python tools/bench/yardstick.py --db sqlite -n 200000 \\
        --bench-dir /work/shared/bench --bench-python /tmp/bench-venv/bin/python
    python tools/bench/yardstick.py --db postgresql -n 1000000 --baseline-ref main ...

Steps, for each server under test (this tree, and with ``--baseline-ref`` the same steps on that
git ref, exported with ``git archive`` to a scratch folder):

1. make the limit's data (``gen_data.py``, kept if present) and start ``limit_server.py``;
2. start ``rucio-tornado serve`` on a fresh database; note its idle RSS;
3. ``api_load.py`` registers and attaches the N files in calls of ``--chunk`` (files/s); the
   server's RSS right after the load and ``--settle`` seconds later (what the bodies left);
4. ``compare_listings.py`` streams the listings interleaved with the limit's (ratios, first
   line, RSS growth);
5. the replica listing read as a client would, with and without ``Accept-Encoding: gzip``
   (rows/s and bytes on the wire; ``http.client`` + zlib, and ``requests`` + ``iter_lines``
   + ``json.loads`` as rucio-clients reads it);
6. with ``--search``, the DID search of the N files: ``compare_listings.py --listings search``
   with a name prefix and with a name suffix, then (after ``POST /dids/bulkdidsmeta`` gave every
   file a column value ``project`` and a free-form key ``stage``) the search by each of these
   metadata filters, read interleaved with the limit's ``/dids/{scope}`` (same reader, median
   of ``--reps``).

Prints one table per server and a summary with the ratios; the load average before and after.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCOPE, DATASET = "user.bench", "user.bench.dataset.0001"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid, key="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return None


def wait_up(port, process, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not come up")


class Process:
    def __init__(self, command, log, env=None, cwd=ROOT):
        self.port = int(command[command.index("--port") + 1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                        cwd=cwd, env=env)
        wait_up(self.port, self.process)
        self.pid = self.process.pid

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def token(url):
    host, port = url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/auth/userpass", headers={
        "X-Rucio-Account": "root", "X-Rucio-Username": "ddmlab", "X-Rucio-Password": "secret"})
    response = conn.getresponse()
    response.read()
    return response.getheader("X-Rucio-Auth-Token")


LIST_BODY = json.dumps({"dids": [{"scope": SCOPE, "name": DATASET}], "domain": None,
                        "schemes": ["https"], "ignore_availability": True, "all_states": False,
                        "resolve_archives": True, "resolve_parents": False})


def read_stream(url, method, path, headers, body=None):
    """One streamed answer over http.client: (lines, bytes on the wire, seconds, encoding);
    a gzip answer is inflated to count its lines."""
    host, port = url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    t0 = time.perf_counter()
    conn.request(method, path, body=body,
                 headers={"Accept": "application/x-json-stream", **headers})
    response = conn.getresponse()
    encoding = response.getheader("Content-Encoding") or "identity"
    inflate = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    lines = wire = 0
    while True:
        block = response.read1(1 << 20)
        if not block:
            break
        wire += len(block)
        lines += (inflate.decompress(block) if inflate else block).count(b"\n")
    return lines, wire, time.perf_counter() - t0, encoding


def read_raw(url, tok, gzip):
    """The replica listing over http.client, with or without gzip."""
    headers = {"X-Rucio-Auth-Token": tok, **({"Accept-Encoding": "gzip"} if gzip else {})}
    return read_stream(url, "POST", "/replicas/list", headers, LIST_BODY)


def read_like_client(url, tok, gzip):
    """As rucio-clients reads ``list_replicas``: requests, ``iter_lines``, ``json.loads``."""
    import requests
    headers = {"X-Rucio-Auth-Token": tok, "Accept": "application/x-json-stream",
               "Accept-Encoding": "gzip, deflate" if gzip else "identity"}
    t0 = time.perf_counter()
    response = requests.post(url + "/replicas/list", data=LIST_BODY, headers=headers,
                             stream=True)
    rows = 0
    for line in response.iter_lines(chunk_size=8192):
        if line:
            json.loads(line)
            rows += 1
    return rows, None, time.perf_counter() - t0, response.headers.get("Content-Encoding",
                                                                      "identity")


#: The DID searches of ``--search``: (label, filters, name pattern for compare_listings.py).
NAME_SEARCHES = (("search prefix", "user.bench.*"), ("search suffix", "*.pool.root.1"))
META_SEARCHES = (("search column metadata", [{"project": "bench26"}]),
                 ("search free-form metadata", [{"stage": "raw"}]))


def set_search_metadata(url, tok, n, chunk=20_000):
    """Every file of the load gets ``project`` (a DID column) and ``stage`` (free-form)."""
    host, port = url.rsplit("/", 1)[1].split(":")
    names = [f"user.bench.00100001._{i:08d}.pool.root.1" for i in range(1, n + 1)]
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        body = json.dumps({"dids": [{"scope": SCOPE, "name": name,
                                     "meta": {"project": "bench26", "stage": "raw"}}
                                    for name in names[start:start + chunk]]})
        conn = http.client.HTTPConnection(host, int(port), timeout=600)
        conn.request("POST", "/dids/bulkdidsmeta", body=body,
                     headers={"X-Rucio-Auth-Token": tok})
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise SystemExit(f"bulkdidsmeta: {response.status} "
                             f"{response.getheader('ExceptionMessage')}")
    return n / (time.perf_counter() - t0)


def meta_search_figures(args, url, tok, limit):
    """{label: (ours rows/s, limit rows/s, ratio)} of the metadata searches, each read
    interleaved with the limit's listing of the same rows (median of ``--reps``)."""
    import statistics
    from urllib.parse import urlencode
    out = {}
    for label, filters in META_SEARCHES:
        path = f"/dids/{SCOPE}/dids/search?" + urlencode(
            {"type": "file", "long": "True", "filters": str(filters)})
        ours, theirs = [], []
        for rep in range(args.reps + 1):            # the first of each: warm-up
            lines, _, seconds, _ = read_stream(url, "GET", path, {"X-Rucio-Auth-Token": tok})
            if lines != args.n:
                raise SystemExit(f"{label}: {lines} lines, expected {args.n}")
            limit_lines, _, limit_seconds, _ = read_stream(limit.url, "GET", f"/dids/{SCOPE}",
                                                           {})
            if rep:
                ours.append(lines / seconds)
                theirs.append(limit_lines / limit_seconds)
        mine, best = statistics.median(ours), statistics.median(theirs)
        out[label] = (mine, best, mine / best)
    return out


def run_bench(args, script, *extra):
    return subprocess.run([args.bench_python, str(Path(args.bench_dir) / script), *extra],
                          capture_output=True, text=True)


def measure_tree(args, label, tree, work, limit):
    """All figures of one server tree; returns a dict."""
    out = {"label": label, "load": os.getloadavg()[0]}
    if args.db == "sqlite":
        db_url = f"sqlite:///{work}/{label}.sqlite"
    else:
        sys.path.insert(0, str(ROOT))
        from rucio_tornado.testing import create_pg_database
        db_url = create_pg_database(f"rt_yard_{label}")
    env = dict(os.environ, PYTHONPATH=str(tree))
    port = free_port()
    server = Process([sys.executable, "-m", "rucio_tornado", "--data-dir", f"{work}/{label}-var",
                      "--db", db_url, "serve", "--port", str(port)],
                     f"{work}/{label}-server.log", env=env, cwd=tree)
    try:
        token(server.url)
        out["rss_idle"] = rss_mb(server.pid)
        load_json = f"{work}/{label}-load.json"
        done = run_bench(args, "api_load.py", "--url", server.url, "-n", str(args.n),
                         "--chunk", str(args.chunk), "--no-verify", "--out", load_json)
        print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])
        out["rss_after_load"] = rss_mb(server.pid)
        time.sleep(args.settle)
        out["rss_settled"] = rss_mb(server.pid)
        out["rss_load_peak"] = rss_mb(server.pid, "VmHWM")
        load = json.loads(Path(load_json).read_text()).get("load", {})
        out["register"], out["attach"] = load.get("register_files_per_s"), \
            load.get("attach_files_per_s")
        if not args.listings:   # registration figures only
            return out
        compare_json = f"{work}/{label}-compare.json"
        done = run_bench(args, "compare_listings.py", "--url", server.url, "--server-pid",
                         str(server.pid), "--limit-url", limit.url, "--limit-pid",
                         str(limit.pid), "-n", str(args.n), "--reps", str(args.reps),
                         "--warmup", "1", "--listings", args.listings, "--label", label,
                         "--out", compare_json)
        print(done.stdout)
        out["compare"] = json.loads(Path(compare_json).read_text())
        if args.search:
            out["search"] = {}
            for kind, pattern in NAME_SEARCHES:
                search_json = f"{work}/{label}-{kind.replace(' ', '-')}.json"
                done = run_bench(args, "compare_listings.py", "--url", server.url,
                                 "--server-pid", str(server.pid), "--limit-url", limit.url,
                                 "--limit-pid", str(limit.pid), "-n", str(args.n), "--reps",
                                 str(args.reps), "--warmup", "1", "--listings", "search",
                                 "--search-name", pattern, "--label", label,
                                 "--out", search_json)
                print(done.stdout)
                item = json.loads(Path(search_json).read_text())["listings"]["search"]
                out["search"][kind] = (item["project"]["rows_per_s_median"],
                                        item["limit"]["rows_per_s_median"], item["ratio"])
            tok = token(server.url)
            out["meta_files_per_s"] = set_search_metadata(server.url, tok, args.n)
            out["search"].update(meta_search_figures(args, server.url, tok, limit))
        if args.gzip:
            tok = token(server.url)
            out["gzip"] = {}
            for reader in (read_raw, read_like_client):
                for gz in (False, True, False, True):
                    rows, wire, seconds, encoding = reader(server.url, tok, gz)
                    key = (reader.__name__, gz)
                    best = out["gzip"].get(key)
                    if best is None or seconds < best[2]:
                        out["gzip"][key] = (rows, wire, seconds, encoding)
        out["rss_end"] = rss_mb(server.pid)
    finally:
        server.stop()
        if args.db != "sqlite":
            from rucio_tornado.testing import drop_pg_database
            drop_pg_database(db_url)
    return out


def start_limit(args, work):
    """The limit's data (``gen_data.py``, kept if present) and ``limit_server.py`` on it."""
    limit_db = "sqlite" if args.db == "sqlite" else "pg"
    data = ["-n", str(args.n), "--db", limit_db]
    data += ["--sqlite-path", args.sqlite_path] if args.sqlite_path and limit_db == "sqlite" \
        else []
    data += ["--pg-dsn", args.pg_dsn] if limit_db == "pg" else []
    print(run_bench(args, "gen_data.py", *data).stdout.strip())
    limit_args = [args.bench_python, str(Path(args.bench_dir) / "limit_server.py"), "--db",
                  limit_db, "-n", str(args.n), "--enc", "ujson", "--port", str(free_port())]
    if limit_db == "pg":
        limit_args += ["--pg-dsn", args.pg_dsn]
    elif args.sqlite_path:
        limit_args += ["--sqlite-path", args.sqlite_path]
    return Process(limit_args, f"{work}/limit.log")


def export_ref(ref, work):
    target = Path(work) / f"tree-{ref.replace('/', '_')}"
    target.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def report(results):
    print("\n| figure | " + " | ".join(r["label"] for r in results) + " |")
    print("|---|" + "---:|" * len(results))

    def line(name, fn):
        values = []
        for r in results:
            try:
                values.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                values.append("")
        print(f"| {name} | " + " | ".join(values) + " |")

    line("load average at the start", lambda r: f"{r['load']:.2f}")
    line("POST /replicas files/s", lambda r: f"{r['register']:,.0f}")
    line("attach files/s", lambda r: f"{r['attach']:,.0f}")
    line("RSS idle / after load / settled MB", lambda r: (
        f"{r['rss_idle']:.0f} / {r['rss_after_load']:.0f} / {r['rss_settled']:.0f} "
        f"(+{r['rss_settled'] - r['rss_idle']:.0f})"))
    kinds = results[0].get("compare", {}).get("listings", {})
    for kind in kinds:
        def ratio(r, kind=kind):
            item = r["compare"]["listings"][kind]
            p, li = item["project"], item["limit"]
            return (f"**{item['ratio']:.2f}** ({p['rows_per_s_median']:,.0f} vs "
                    f"{li['rows_per_s_median']:,.0f} rows/s; {p['mb_per_s_median']:.0f} vs "
                    f"{li['mb_per_s_median']:.0f} MB/s; first line "
                    f"{p['ttfb_s_median'] * 1000:.0f} ms; RSS growth "
                    f"{(p['rss_growth_kib_max'] or 0) / 1024:.1f} MiB)")
        line(f"{kind}: ours / limit", ratio)
    for kind in results[0].get("search", {}):
        line(f"{kind}: ours / limit", lambda r, kind=kind: (
            f"**{r['search'][kind][2]:.2f}** ({r['search'][kind][0]:,.0f} vs "
            f"{r['search'][kind][1]:,.0f} rows/s)"))
    if "gzip" in results[0]:
        for reader in ("read_raw", "read_like_client"):
            for gz in (False, True):
                def figure(r, key=(reader, gz)):
                    rows, wire, seconds, encoding = r["gzip"][key]
                    wire = f"{wire / 1e6:.1f} MB on the wire, " if wire else ""
                    return f"{rows / seconds:,.0f} rows/s ({wire}{encoding})"
                line(f"{reader} {'gzip' if gz else 'identity'}", figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("-n", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--listings", default="replicas",
                        help="listings compare_listings.py streams ('' = registration only)")
    parser.add_argument("--bench-dir", default="/work/shared/bench")
    parser.add_argument("--bench-python", default="/tmp/bench-venv/bin/python")
    parser.add_argument("--pg-dsn", default="host=127.0.0.1 user=postgres dbname=bench_limit")
    parser.add_argument("--sqlite-path", default=None,
                        help="the limit's SQLite file (default: gen_data.py's)")
    parser.add_argument("--baseline-ref", default=None,
                        help="also measure this git ref (e.g. main) in the same run")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds after the load before the settled RSS is read")
    parser.add_argument("--gzip", action="store_true",
                        help="also read the replica listing with and without gzip")
    parser.add_argument("--search", action="store_true",
                        help="also the DID searches: name prefix, suffix, metadata filters")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the trees this many times, alternating (noisy machine)")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="rt-yard-")
    os.makedirs(work, exist_ok=True)
    print(f"# {args.db}, n={args.n:,}, workdir {work}, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    limit = start_limit(args, work) if args.listings else None
    try:
        trees = [("ours", ROOT)]
        if args.baseline_ref:
            trees.append((args.baseline_ref.replace("/", "_"), export_ref(args.baseline_ref,
                                                                          work)))
        results = []
        for round_ in range(1, args.rounds + 1):   # ours, baseline, ours, baseline, ...
            for label, tree in trees:
                name = label if args.rounds == 1 else f"{label} #{round_}"
                print(f"## {name}: load average {os.getloadavg()[0]:.2f}", flush=True)
                results.append(measure_tree(args, name.replace(" #", "-"), tree, work, limit))
                results[-1]["label"] = name
    finally:
        if limit:
            limit.stop()
    report(results)
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
