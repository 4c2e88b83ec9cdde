"""Racing concurrent writers through the HTTP API of a real server (issue 12 item 1): one
client whose threads each keep their own connection, and a barrier that releases them at once.
Every answer is checked for a 5xx or an error text that names database internals."""
import contextlib
import json
import threading

import requests

from rucio_tornado.core.auth.tokens import TokenService
from tests.pg import create_pg_database, drop_pg_database
from tests.prodtools import TEST_SECRET, Server

#: Words that only a database error puts into a message.
INTERNALS = ("pkey", "constraint", "integrity", "unique", "duplicate key", "violates", "sql",
             "account_usage", "rules_did")


@contextlib.contextmanager
def racing_server(backend, workdir, processes):
    """A production server on a fresh database: ``processes`` worker processes (each with its
    own pool) on PostgreSQL, one on SQLite; ``headers`` carry root's token."""
    if backend == "postgresql":
        url, args = create_pg_database("rt_race"), ["--processes", str(processes)]
    else:
        url, args = f"sqlite:///{workdir / 'race.db'}", []
    process = Server(workdir, {"db": url, "db_pool_size": 8}, serve_args=args)
    process.backend = backend
    process.headers = {"X-Rucio-Auth-Token": TokenService(TEST_SECRET).issue("root")[0]}
    try:
        yield process
    finally:
        assert process.stop() == 0
        if backend == "postgresql":
            drop_pg_database(url)


class Client:
    """Requests as the server's ``headers`` account, one connection per thread; the answers
    that are a 5xx or name database internals are collected in ``problems``."""

    def __init__(self, server):
        self.server, self.local = server, threading.local()
        self.problems, self.sessions = [], []

    def request(self, method, path, body=None):
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            self.sessions.append(session)
        response = session.request(method, self.server.url + path, json=body, timeout=60,
                                   headers=self.server.headers)
        text = (response.headers.get("ExceptionMessage", "") + response.text).lower()
        if response.status_code >= 500 or (response.status_code >= 400 and
                                           any(word in text for word in INTERNALS)):
            self.problems.append(f"{method} {path}: {response.status_code} {response.text}")
        return response

    def ok(self, method, path, body=None):
        response = self.request(method, path, body)
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        return response

    def close(self):
        """Close every connection (no idle keep-alive connection delays a server's shutdown)."""
        for session in self.sessions:
            session.close()

    def lines(self, path):
        return [json.loads(line) for line in self.ok("GET", path).text.splitlines() if line]


def race(client, requests_):
    """Send the ``(method, path, body)`` requests at once (one thread each, released together
    by a barrier); their responses (or the exceptions raised) in order."""
    barrier = threading.Barrier(len(requests_))
    results = [None] * len(requests_)

    def run(index, method, path, body):
        barrier.wait()
        try:
            results[index] = client.request(method, path, body)
        except Exception as exc:  # reported as the request's result, checked by the caller
            results[index] = exc
    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results
