"""Support for the test suite and the benchmark tools (neither imports the other).

Throw-away PostgreSQL databases, an HTTP helper that speaks to the application as an account,
and small readers. Nothing here runs on import.
"""
import os
import uuid

import ujson

from rucio_tornado.db import parse_postgres_url

#: The PostgreSQL server on which throw-away databases are created.
PG_ADMIN_URL = os.environ.get("RUCIO_TORNADO_TEST_PG",
                              "postgresql://postgres@127.0.0.1:5432/postgres")


class PostgreSQLUnavailable(Exception):
    """The PostgreSQL server of ``PG_ADMIN_URL`` cannot be reached."""


def _admin_connection():
    import psycopg2
    dbname, kwargs = parse_postgres_url(PG_ADMIN_URL)
    try:
        conn = psycopg2.connect(dbname=dbname, connect_timeout=3, **kwargs)
    except psycopg2.OperationalError as exc:
        raise PostgreSQLUnavailable(str(exc).strip()) from exc
    conn.autocommit = True
    return conn


def create_pg_database(prefix="rt_test"):
    """Create a uniquely named database; its URL. PostgreSQLUnavailable if unreachable."""
    conn = _admin_connection()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def drop_pg_database(url):
    name = url.rsplit("/", 1)[1]
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def count_rows(db, model):
    """Row count of a table, read from the calling thread."""
    with db.peewee.connection_context():
        return model.select().count()


def fast_passwords():
    """Cheap password hashes for this process (tests only: they are not safe to keep)."""
    from rucio_tornado.core.auth import passwords
    passwords.PASSWORD_COST = 2 ** 4


class Response:
    def __init__(self, response):
        self.raw = response
        self.status = response.code
        self.headers = response.headers
        self.body = response.body or b""

    @property
    def text(self):
        return self.body.decode()

    def json(self):
        return ujson.loads(self.body)

    def lines(self):
        """The decoded lines of an x-json-stream response."""
        return [ujson.loads(line) for line in self.body.splitlines() if line.strip()]

    @property
    def exception_class(self):
        return self.headers.get("ExceptionClass")

    def __repr__(self):
        return f"<Response {self.status} {self.exception_class or ''} {self.body[:200]!r}>"


class Api:
    """``await api.get("/accounts/root")`` as root; ``api.as_("jdoe")`` for another account."""

    def __init__(self, http_client, base_url, tokens, account="root"):
        self.http_client, self.base_url, self.tokens = http_client, base_url, tokens
        self.account = account
        self.token = tokens.issue(account)[0] if account else ""

    def as_(self, account):
        return Api(self.http_client, self.base_url, self.tokens, account)

    async def request(self, method, path, body=None, headers=None, raw_body=None):
        from tornado.httpclient import HTTPRequest
        all_headers = {"X-Rucio-Auth-Token": self.token} if self.token else {}
        all_headers.update(headers or {})
        if raw_body is None and body is not None:
            raw_body = ujson.dumps(body)
        if raw_body is None and method in ("POST", "PUT"):
            raw_body = ""
        request = HTTPRequest(self.base_url + path, method=method, headers=all_headers,
                              body=raw_body, allow_nonstandard_methods=True,
                              request_timeout=120)
        response = await self.http_client.fetch(request, raise_error=False)
        return Response(response)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)
