"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL: ``RUCIO_TORNADO_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
is the server used to create throw-away databases. Without a reachable server the PostgreSQL
variants skip, unless ``RUCIO_TORNADO_REQUIRE_PG=1`` (set by CI), where they fail.
"""
import os
import uuid

import psycopg2
import pytest
import ujson
from tornado.httpclient import HTTPRequest

from rucio_tornado.app import make_app
from rucio_tornado.config import Settings
from rucio_tornado.core.auth import TokenService
from rucio_tornado.core.bootstrap import bootstrap
from rucio_tornado.db import Database, parse_postgres_url
from rucio_tornado.models import ALL_MODELS

PG_ADMIN_URL = os.environ.get("RUCIO_TORNADO_TEST_PG",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("RUCIO_TORNADO_REQUIRE_PG") == "1"
TEST_SECRET = "test-secret-key-for-the-suite-only"


# -- PostgreSQL throw-away databases -----------------------------------------------------------
def _admin_connection():
    dbname, kwargs = parse_postgres_url(PG_ADMIN_URL)
    conn = psycopg2.connect(dbname=dbname, connect_timeout=3, **kwargs)
    conn.autocommit = True
    return conn


def create_pg_database(prefix="rt_test"):
    """Create a uniquely named database; returns its URL (skips/fails if PG is unreachable)."""
    try:
        conn = _admin_connection()
    except psycopg2.OperationalError as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(url):
    name = url.rsplit("/", 1)[1]
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


# -- the database under test -------------------------------------------------------------------
_databases = {}


@pytest.fixture(scope="session", autouse=True)
def _close_databases():
    yield
    for kind, (db, url) in _databases.items():
        db.close()
        if kind == "postgresql":
            drop_pg_database(url)


def session_database(kind, tmp_path_factory):
    if kind not in _databases:
        if kind == "sqlite":
            url = "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "test.db")
        else:
            url = create_pg_database()
        db = Database(url, pool_size=4, stream_pool_size=4, batch_size=1000)
        db.create_schema()
        _databases[kind] = (db, url)
    db = _databases[kind][0]
    db.activate()
    return db


def empty_tables(db):
    with db.peewee.connection_context():
        if db.kind == "postgresql":
            tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
            db.peewee.execute_sql(f"TRUNCATE {tables}")
        else:
            with db.peewee.atomic():
                for model in ALL_MODELS:
                    model.delete().execute()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture
def db(backend, tmp_path_factory):
    """A clean database (SQLite or PostgreSQL) with the root account bootstrapped."""
    db = session_database(backend, tmp_path_factory)
    empty_tables(db)
    with db.peewee.connection_context():
        bootstrap()
    yield db
    if db.stream_pool is not None:
        assert db.stream_pool.in_use == 0, "a test left a streaming connection checked out"


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=str(tmp_path), jwt_secret=TEST_SECRET, periodic_tasks=False)


@pytest.fixture
def tokens():
    return TokenService(TEST_SECRET)


@pytest.fixture
def app(settings, db, tokens):
    return make_app(settings, db, tokens=tokens)


# -- an HTTP helper for handler tests ----------------------------------------------------------
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


@pytest.fixture
def api(app, http_client, base_url, tokens):
    return Api(http_client, base_url, tokens)


def count_rows(db, model):
    """Row count of a table, read from the test thread."""
    with db.peewee.connection_context():
        return model.select().count()
