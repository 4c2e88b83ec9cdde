"""Small authenticated requests: req/s, p50 and p99 with wrk, ours against a baseline.

Starts our server (this checkout) on a fresh database holding scope ``bench``, dataset
``bench:dataset``, RSE ``BENCH-MOCK`` and an account ``jdoe`` (not admin, so the issuer check
reads its attributes), takes a token for ``jdoe`` (``rucio-tornado token``) and runs
``wrk --latency`` with the ``X-Rucio-Auth-Token`` header (a Lua script) against each route and
client count, and the server's CPU per request (``/proc``: the process and its workers,
the figure least moved by a loaded machine). Baselines measured in the same run, the routes interleaved:

- ``/ping`` of the same server (always);
- ``--baseline-ref REF``: the server of another commit, from a temporary ``git worktree``
  (same database and key, so the same token works);
- ``--real``: the real Rucio 41.5.1 server on the same kind of database, as many gunicorn sync
  workers as ``--processes`` (started by ``real_rucio.py``, which installs it into a venv
  outside the repository when missing);
- ``--real-url URL --real-token TOKEN``: another server already running instead, measured on
  the same routes (``--real-scope/--real-did/--real-rse/--real-account``).

    python tools/bench/bench_small_requests.py --backend sqlite --baseline-ref HEAD~3
    python tools/bench/bench_small_requests.py --backend postgresql --processes 2 --real

Needs ``wrk`` (Debian: ``apt-get install -y wrk``). Prints one markdown row per measurement
(the median of ``--repeat`` runs) and the load average before and after.
"""
import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_replicas import call, free_port, wait_up  # noqa: E402
from real_rucio import RealRucio  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCOPE, DID, RSE, ACCOUNT = "bench", "dataset", "BENCH-MOCK", "jdoe"
LUA = 'wrk.headers["X-Rucio-Auth-Token"] = "{token}"\n'


def routes(scope, did, rse, account):
    return [("GET /ping", "/ping"), ("GET /dids/{s}/{n}", f"/dids/{scope}/{did}"),
            ("GET /accounts/{a}", f"/accounts/{account}"), ("GET /rses/{r}", f"/rses/{rse}"),
            ("GET /accounts/whoami", "/accounts/whoami")]


class OurServer:
    """``rucio-tornado serve`` of the checkout at ``tree`` (its own code on PYTHONPATH)."""

    def __init__(self, tree, db_url, data_dir, processes, log_dir, label):
        self.label, self.port = label, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(tree))
        self.log = open(Path(log_dir) / f"server-{label}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rucio_tornado", "--data-dir", str(data_dir), "--db", db_url,
             "serve", "--port", str(self.port), "--processes", str(processes)],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=tree, env=env)
        wait_up(self.url, self.process)

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def cli(tree, db_url, data_dir, *args):
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run([sys.executable, "-m", "rucio_tornado", "--data-dir", str(data_dir),
                           "--db", db_url, *args], cwd=tree, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def populate(url, root_token, user_token):
    session = requests.Session()
    session.headers["X-Rucio-Auth-Token"] = root_token
    call(session, "POST", f"{url}/accounts/root/scopes/{SCOPE}", ok=(201, 409))
    call(session, "POST", f"{url}/rses/{RSE}", {}, ok=(201, 409))
    call(session, "POST", f"{url}/dids/{SCOPE}/{DID}", {"type": "DATASET"}, ok=(201, 409))
    for path in (f"/dids/{SCOPE}/{DID}", f"/accounts/{ACCOUNT}", f"/rses/{RSE}"):
        response = requests.get(url + path, headers={"X-Rucio-Auth-Token": user_token})
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` and its children (the workers)."""
    if pid is None:
        return 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    total = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])      # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def wrk(url, token, clients, duration, threads, pid=None):
    """``(req/s, p50 ms, p99 ms, non-2xx/3xx count, socket errors, server CPU ms/request)``
    of one wrk run; the CPU is the server's (``pid`` and its children), robust to the load."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(token=token))
    try:
        cpu = cpu_seconds(pid)
        out = subprocess.run(["wrk", f"-t{min(threads, clients)}", f"-c{clients}",
                              f"-d{duration}s", "--latency", "-s", script.name, url],
                             check=True, capture_output=True, text=True).stdout
        cpu = cpu_seconds(pid) - cpu
    finally:
        os.unlink(script.name)
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return (rps, p50, p99, int(bad.group(1)) if bad else 0, errors.group(0) if errors else "",
            1000 * cpu / max(requests_done, 1) if pid is not None else None)


def measure(targets, clients, args):
    """Every (route, clients) on every target, interleaved, ``args.repeat`` times."""
    results = {}
    for _ in range(args.repeat):
        for n in clients:
            for index in range(len(targets[0]["routes"])):
                for target in targets:
                    label, path = target["routes"][index]
                    run = wrk(target["url"] + path, target["token"], n, args.duration,
                              args.threads, target.get("pid"))
                    if run[3] or run[4]:
                        print(f"  ! {target['name']} {label} c{n}: {run[3]} non-2xx/3xx "
                              f"{run[4]}", flush=True)
                    results.setdefault((target["name"], label, n), []).append(run)
    return results


def report(targets, clients, results, args):
    names = [t["name"] for t in targets]
    print(f"\n| route | clients | "
          f"{' | '.join(f'{n} req/s (p50 / p99 ms) CPU ms/req' for n in names)} | "
          f"{' | '.join(f'{names[0]} / {n}' for n in names[1:])} |")
    print("|---|---:|" + "---:|" * (2 * len(names) - 1))
    for n in clients:
        for label, _ in targets[0]["routes"]:
            cells, rates = [], []
            for target in targets:
                runs = results[(target["name"], label, n)]
                rps = statistics.median(r[0] for r in runs)
                p50 = statistics.median(r[1] for r in runs)
                p99 = statistics.median(r[2] for r in runs)
                cpu = [r[5] for r in runs if r[5] is not None]
                rates.append(rps)
                cells.append(f"{rps:,.0f} ({p50:.2f} / {p99:.2f})"
                             + (f" {statistics.median(cpu):.2f}" if cpu else ""))
            ratios = [f"{rates[0] / r:.2f}" for r in rates[1:]]
            print(f"| `{label}` | {n} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    ping = {n: statistics.median(r[0] for r in results[(names[0], "GET /ping", n)])
            for n in clients}
    for n in clients:
        for label, _ in targets[0]["routes"][1:]:
            rps = statistics.median(r[0] for r in results[(names[0], label, n)])
            print(f"{names[0]} {label} c{n}: {rps / ping[n]:.2f} of its /ping")
    print("\nrequests per CPU second of the server, ours / each baseline (per-process capacity):")
    for n in clients:
        for label, _ in targets[0]["routes"]:
            cpu = {t["name"]: [r[5] for r in results[(t["name"], label, n)] if r[5] is not None]
                   for t in targets}
            if not cpu[names[0]]:
                continue
            mine = statistics.median(cpu[names[0]])
            ratios = [f"{name} {statistics.median(cpu[name]) / mine:.2f}"
                      for name in names[1:] if cpu[name]]
            print(f"  {label} c{n}: ours {mine:.2f} CPU ms/req; {', '.join(ratios)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--clients", default="8,64")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-ref", help="also measure this commit's server")
    parser.add_argument("--real", action="store_true",
                        help="start the real Rucio server too (real_rucio.py)")
    parser.add_argument("--real-venv", default="/tmp/realrucio")
    parser.add_argument("--real-url")
    parser.add_argument("--real-token")
    parser.add_argument("--real-pid", type=int, help="its master's pid: CPU per request")
    parser.add_argument("--real-scope", default=SCOPE)
    parser.add_argument("--real-did", default=DID)
    parser.add_argument("--real-rse", default=RSE)
    parser.add_argument("--real-account", default=ACCOUNT)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    clients = [int(n) for n in args.clients.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="rt-small-"))
    data_dir = workdir / "var"
    if args.backend == "sqlite":
        db_url = f"sqlite:///{workdir}/bench.db"
    else:
        from rucio_tornado.testing import create_pg_database
        db_url = create_pg_database("rt_small")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True).stdout.strip()
    print(f"# {args.backend}, {args.processes} process(es), wrk {args.duration}s x "
          f"{args.repeat}, ours at {head}, load average {os.getloadavg()}", flush=True)
    servers, base_tree = [], None
    stack = contextlib.ExitStack()
    try:
        cli(ROOT, db_url, data_dir, "db", "init")
        cli(ROOT, db_url, data_dir, "bootstrap")
        root_token = cli(ROOT, db_url, data_dir, "token", "--account", "root")
        ours = OurServer(ROOT, db_url, data_dir, args.processes, workdir, "ours")
        servers.append(ours)
        session = requests.Session()
        session.headers["X-Rucio-Auth-Token"] = root_token
        call(session, "POST", f"{ours.url}/accounts/{ACCOUNT}",
             {"type": "USER", "email": "jdoe@example.org"}, ok=(201, 409))
        token = cli(ROOT, db_url, data_dir, "token", "--account", ACCOUNT)
        populate(ours.url, root_token, token)
        targets = [{"name": f"ours@{head}", "url": ours.url, "token": token,
                    "pid": ours.process.pid,
                    "routes": routes(SCOPE, DID, RSE, ACCOUNT)}]
        if args.baseline_ref:
            base_tree = workdir / "baseline-tree"
            subprocess.run(["git", "worktree", "add", "--detach", str(base_tree),
                            args.baseline_ref], cwd=ROOT, check=True, capture_output=True)
            base = OurServer(base_tree, db_url, data_dir, args.processes, workdir, "baseline")
            servers.append(base)
            targets.append({"name": f"base@{args.baseline_ref}", "url": base.url,
                            "token": token, "pid": base.process.pid,
                            "routes": targets[0]["routes"]})
        if args.real:
            real = stack.enter_context(RealRucio(args.backend, args.real_venv, args.processes))
            targets.append({"name": "real", "url": real.url, "token": real.token,
                            "pid": real.pid,
                            "routes": routes(real.scope, real.did, real.rse, real.account)})
        elif args.real_url:
            targets.append({"name": "real", "url": args.real_url, "token": args.real_token,
                            "pid": args.real_pid,
                            "routes": routes(args.real_scope, args.real_did, args.real_rse,
                                             args.real_account)})
        for target in targets:      # warm up
            for _, path in target["routes"]:
                wrk(target["url"] + path, target["token"], 8, 1, args.threads)
        results = measure(targets, clients, args)
        report(targets, clients, results, args)
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        stack.close()
        for server in servers:
            server.stop()
        if base_tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT,
                           capture_output=True)
        if args.backend == "postgresql":
            from rucio_tornado.testing import drop_pg_database
            drop_pg_database(db_url)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
