"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL: ``RUCIO_TORNADO_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
is the server used to create throw-away databases. Without a reachable server the PostgreSQL
variants skip, unless ``RUCIO_TORNADO_REQUIRE_PG=1`` (set by CI), where they fail.
"""
import pytest

from rucio_tornado import testing
from rucio_tornado.app import make_app
from rucio_tornado.config import Settings
from rucio_tornado.core import install
from rucio_tornado.core.auth.tokens import TokenService
from rucio_tornado.core.bootstrap import bootstrap
from rucio_tornado.db import Database
from rucio_tornado import migrations
from rucio_tornado.models import ALL_MODELS
from rucio_tornado.testing import Api, Response, count_rows  # noqa: F401  (tests import them here)
from tests.live import live  # noqa: F401  (the live-server fixture, registered once)
from tests.pg import REQUIRE_PG, create_pg_database, drop_pg_database  # noqa: F401

TEST_SECRET = "test-secret-key-for-the-suite-only"

testing.fast_passwords()
install()


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
        migrations.create(db)
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


@pytest.fixture
def api(app, http_client, base_url, tokens):
    return Api(http_client, base_url, tokens)

