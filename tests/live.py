"""A real ``rucio-tornado serve`` subprocess, and the real rucio-clients pointed at it."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rucio_tornado import server
from tests.pg import create_pg_database, drop_pg_database

#: The server's own client snippet (what `serve` prints), plus a private token file per account.
CLIENT_CFG = server.CLIENT_CFG + """
auth_token_file_path = {token_file}
request_retries = 2
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """Starts the server on a free port over SQLite or a fresh PostgreSQL database (or over
    ``db_url``, dropped at the end when it is PostgreSQL)."""

    def __init__(self, backend, workdir, extra_env=None, db_url=None):
        self.backend, self.workdir = backend, Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url or (create_pg_database("rt_live") if backend == "postgresql"
                                 else f"sqlite:///{self.workdir / 'live.db'}")
        self.config = self.write_client_config("root", "ddmlab", "secret")
        self.env = dict(os.environ, RUCIO_CONFIG=str(self.config),
                        RUCIO_TORNADO_PERIODIC_INTERVAL="1", **(extra_env or {}))
        self.log = open(self.workdir / "server.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rucio_tornado", "--data-dir", str(self.workdir / "var"),
             "--db", self.db_url, "serve", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        self._wait_until_up()

    def _wait_until_up(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.read_log())
            try:
                if requests.get(self.url + "/ping", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up:\n" + self.read_log())

    def read_log(self):
        self.log.flush()
        return (self.workdir / "server.log").read_text()

    def write_client_config(self, account, username, password):
        """A client ``rucio.cfg`` with its own token file, for one account."""
        path = self.workdir / f"rucio-{account}.cfg"
        path.write_text(CLIENT_CFG.format(url=self.url, account=account, username=username,
                                          password=password,
                                          token_file=self.workdir / f"token-{account}"))
        return path

    def client(self, account="root", username="ddmlab", password="secret"):
        """A real ``rucio.client.Client`` for this server, authenticated as ``account``."""
        from rucio.client import Client
        from rucio.common.config import clean_cached_config
        os.environ["RUCIO_CONFIG"] = str(self.write_client_config(account, username, password))
        clean_cached_config()
        return Client(rucio_host=self.url, auth_host=self.url, account=account,
                      auth_type="userpass", creds={"username": username, "password": password})

    def cli(self, *args, program="rucio", check=True):
        """Run the real ``rucio`` / ``rucio-admin`` command line; returns CompletedProcess."""
        exe = shutil.which(program) or str(Path(sys.executable).parent / program)
        result = subprocess.run([exe, *args], env=self.env, capture_output=True, text=True,
                                timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{program} {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        if self.backend == "postgresql":
            drop_pg_database(self.db_url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    """One live server per test module and backend."""
    server = LiveServer(request.param, tmp_path_factory.mktemp("live"))
    yield server
    server.stop()
    assert server.process.returncode == 0, "server did not stop cleanly:\n" + server.read_log()
