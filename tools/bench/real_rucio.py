"""The real Rucio server (rucio 41.5.1 from PyPI) for side-by-side benchmarks.

Installs it into a venv outside the repository when missing (``--venv``, default
``/tmp/realrucio``), creates its database (SQLite file or a new PostgreSQL database), the
``def`` VO, root, a non-admin account ``jdoe`` with a USERPASS identity, scope ``bench``,
RSE ``BENCH-MOCK`` and dataset ``bench:dataset``, and serves it as its documentation does:
``gunicorn -w 2 -k sync rucio.web.rest.flaskapi.v1.main:application``. The token is jdoe's,
from ``GET /auth/userpass``. Nothing of Rucio's code is copied or imported here: it runs in
its own interpreter.

    python tools/bench/real_rucio.py --db sqlite          # prints url, pid and token, then serves
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_replicas import free_port  # noqa: E402

from rucio_tornado.testing import create_pg_database, drop_pg_database  # noqa: E402

PACKAGES = ["rucio==41.5.1", "flask", "sqlalchemy", "gunicorn", "psycopg[binary]"]
SCOPE, DID, RSE, ACCOUNT, PASSWORD = "bench", "dataset", "BENCH-MOCK", "jdoe", "jdoe-secret"

CONFIG = """\
[common]
logdir = {workdir}
loglevel = WARNING

[database]
default = {url}
pool_size = 8

[policy]
permission = generic
schema = generic
lfn2pfn_algorithm_default = hash

[api]
endpoints = accounts, auth, dids, ping, rses, scopes, replicas, rules
"""

#: Runs in the real server's venv: schema and the benchmark's objects, through rucio's gateway.
SETUP = f"""
from rucio.db.sqla import models
from rucio.db.sqla.session import get_engine
from rucio.db.sqla.util import create_base_vo, create_root_account
from rucio.gateway import account, did, identity, rse, scope
models.register_models(get_engine())
create_base_vo()
create_root_account()
account.add_account({ACCOUNT!r}, "USER", "jdoe@example.org", issuer="root")
identity.add_account_identity({ACCOUNT!r}, "userpass", {ACCOUNT!r}, "jdoe@example.org",
                              issuer="root", default=True, password={PASSWORD!r})
scope.add_scope({SCOPE!r}, {ACCOUNT!r}, issuer="root")
rse.add_rse({RSE!r}, issuer="root")
did.add_did({SCOPE!r}, {DID!r}, "DATASET", issuer={ACCOUNT!r}, account={ACCOUNT!r})
"""


class RealRucio:
    """``with RealRucio(backend) as real:`` → ``real.url``, ``real.pid`` (gunicorn's master,
    whose children are the workers), ``real.token`` (jdoe's) and ``routes`` names."""

    scope, did, rse, account = SCOPE, DID, RSE, ACCOUNT

    def __init__(self, backend="sqlite", venv="/tmp/realrucio", workers=2):
        self.backend, self.venv, self.workers = backend, Path(venv), workers
        self.workdir = Path(tempfile.mkdtemp(prefix="realrucio-"))
        self.process = self.pg_url = None

    def __enter__(self):
        python = self.ensure_venv()
        if self.backend == "sqlite":
            url = f"sqlite:///{self.workdir}/rucio.db"
        else:
            self.pg_url = create_pg_database("realrucio")     # postgresql://.../name
            url = self.pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
        config = self.workdir / "rucio.cfg"
        config.write_text(CONFIG.format(workdir=self.workdir, url=url))
        env = dict(os.environ, RUCIO_CONFIG=str(config), PYTHONPATH="")
        subprocess.run([python, "-c", SETUP], env=env, check=True, capture_output=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.workdir / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [str(self.venv / "bin" / "gunicorn"), "-w", str(self.workers), "-k", "sync",
             "-b", f"127.0.0.1:{port}", "rucio.web.rest.flaskapi.v1.main:application"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.pid = self.process.pid
        self.token = self._login()
        return self

    def ensure_venv(self):
        python = self.venv / "bin" / "python"
        if not (self.venv / "bin" / "gunicorn").exists():
            print(f"installing {' '.join(PACKAGES)} into {self.venv} ...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
        return str(python)

    def _login(self):
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"{self.url}/auth/userpass", headers={
                    "X-Rucio-Account": ACCOUNT, "X-Rucio-Username": ACCOUNT,
                    "X-Rucio-Password": PASSWORD}, timeout=10)
                if response.status_code == 200:
                    return response.headers["X-Rucio-Auth-Token"]
                raise SystemExit(f"real server login: {response.status_code} {response.text}")
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the real server did not start: "
                                     f"{self.workdir}/gunicorn.log") from None
                time.sleep(0.3)

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.log.close()
        if self.pg_url:
            drop_pg_database(self.pg_url)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--venv", default="/tmp/realrucio")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))     # stop gunicorn on the way out
    with RealRucio(args.db, args.venv, args.workers) as real:
        print(f"url {real.url}\npid {real.pid}\ntoken {real.token}", flush=True)
        try:
            real.process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
