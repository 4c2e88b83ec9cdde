"""The long fuzz run of docs/RELIABILITY.md (issue 12, items 7 and 9): every operation of
``GET /openapi.json`` × EXAMPLES hypothesis examples (path parts, queries, JSON bodies), plus
the targeted cases of item 7, against a fresh development server per backend.

    PYTHONPATH=$PWD python tools/fuzz/run.py [--backend sqlite|postgresql|both]
        [--examples 150] [--seed 12] [--keep DIR]

Prints the figures (requests, status classes, problems: 5xx or errors not in Rucio form) and
the first example of each distinct problem; exits 1 when there is any problem.
"""
import argparse
import collections
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from rucio_tornado import testing
from tools.fuzz import cases


class Server:
    """``rucio-tornado serve`` on a free port over a fresh database (dropped by ``stop``)."""

    def __init__(self, backend, folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.backend, self.url = backend, f"http://127.0.0.1:{self.port}"
        for old in folder.glob("fuzz.db*"):
            old.unlink()                # a fresh database every run
        self.db_url = testing.create_pg_database("rt_fuzz") if backend == "postgresql" \
            else f"sqlite:///{folder / 'fuzz.db'}"
        self.log_path = folder / f"server-{backend}.log"
        self.log = open(self.log_path, "w")
        env = dict(os.environ, RUCIO_TORNADO_PERIODIC_TASKS="false", RUCIO_TORNADO_ACCESS_LOG="false")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rucio_tornado", "--data-dir", str(folder / "var"),
             "--db", self.db_url, "serve", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(self.url + "/ping", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError("server did not start:\n" + self.log_path.read_text()) from None
                time.sleep(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        if self.backend == "postgresql":
            testing.drop_pg_database(self.db_url)


class Recorder:
    def __init__(self):
        self.requests, self.classes, self.problems = 0, collections.Counter(), {}
        self.previous = None

    def record(self, label, response):
        self.requests += 1
        previous, self.previous = self.previous, (response.request.method, response.request.url,
                                                  response.request.headers, response.status_code)
        self.classes[f"{response.status_code // 100}xx"] += 1
        why = cases.problem(response)
        if why is not None:
            key = (label, why)
            if key not in self.problems:
                self.problems[key] = [0, response.request.method, response.request.url,
                                      (response.request.body or b"")[:300], response.text[:300]]
            self.problems[key][0] += 1
            if isinstance(response, cases.Cut):
                self.problems[key].append(f"after {previous}")
        return why


def fuzz_operation(session, url, token, operation, recorder, examples, seed):
    label = f"{operation[0]} {operation[1]}"

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        method, path, body = data.draw(cases.fuzz_request(operation))
        recorder.record(label, cases.send(session, url, method, path, body, token))
    run()


def run_backend(backend, folder, examples, seed):
    server = Server(backend, folder)
    try:
        session, recorder = requests.Session(), Recorder()
        token = cases.login(server.url)
        cases.seed(session, server.url, token)
        started = time.monotonic()
        before = cases.fingerprint(session, server.url, token)
        for method, path, body in cases.targeted():
            label = f"targeted {method} {path[:60]}"
            response = cases.send(session, server.url, method, path, body, token)
            if recorder.record(label, response) is None and response.status_code < 400:
                recorder.problems.setdefault((label, f"{response.status_code} accepted"), [
                    1, method, path, (body or b"")[:300], response.text[:300]])
        changed = [path for path, value in cases.fingerprint(session, server.url, token).items()
                   if before[path] != value]
        for method, path, body in cases.CHAIN_LISTINGS:
            recorder.record(f"chain {method} {path[:60]}",
                            cases.send(session, server.url, method, path, body, token))
        document = requests.get(server.url + "/openapi.json").json()
        for operation in cases.operations(document):
            fuzz_operation(session, server.url, token, operation, recorder, examples, seed)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    print(f"== {backend}: {recorder.requests} requests in {elapsed:.0f} s, "
          f"{dict(sorted(recorder.classes.items()))}; targeted cases changed: {changed or 'nothing'}")
    for (label, why), (count, method, url, body, text, *more) in sorted(
            recorder.problems.items()):
        print(f"  {count:5d} × {why:40s} {label}\n        {method} {url[:200]} {body!r}\n"
              f"        -> {text[:200]} {' '.join(more)[:400]}")
    return recorder, changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--examples", type=int, default=150, help="examples per operation")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", help="folder for the databases and server logs")
    args = parser.parse_args(argv)
    folder = args.keep or tempfile.mkdtemp(prefix="rt-fuzz-")
    failed = False
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        recorder, changed = run_backend(backend, Path(folder) / backend, args.examples, args.seed)
        failed |= bool(recorder.problems or changed)
    print(f"server logs in {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
