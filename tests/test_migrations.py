"""Schema migrations: a database made by the first release (0.1.0) is upgraded and keeps its data;
``serve`` refuses a schema that is older (or newer) than the code; ``db upgrade`` is idempotent."""
import sqlite3
from pathlib import Path

import psycopg2
import pytest

from rucio_tornado import cli, migrations
from rucio_tornado.db import Database, parse_postgres_url
from rucio_tornado.models import RSE, Account, ConfigOption, RSEProtocol, SchemaVersion
from tests.pg import create_pg_database, drop_pg_database

DATA = Path(__file__).parent / "data"
STAMP = "2025-06-01 12:00:00"
#: Rows as 0.1.0 wrote them: an account, a live RSE with a protocol (0 = "not supported"
#: then), and a deleted RSE whose name a live one reused (0.1.0 allowed that).
ROWS = [
    "INSERT INTO account (account, created_at, updated_at, account_type, status) "
    f"VALUES ('jdoe', '{STAMP}', '{STAMP}', 'USER', 'ACTIVE')",
    "INSERT INTO rse (id, created_at, updated_at, rse, vo, rse_type, deterministic, volatile, "
    "staging_area, availability_read, availability_write, availability_delete, "
    "lfn2pfn_algorithm, verify_checksum, deleted) VALUES ('{live}', '{stamp}', '{stamp}', "
    "'SITE-A', 'def', 'DISK', {t}, {f}, {f}, {t}, {t}, {t}, 'hash', {t}, {f})",
    "INSERT INTO rse (id, created_at, updated_at, rse, vo, rse_type, deterministic, volatile, "
    "staging_area, availability_read, availability_write, availability_delete, "
    "lfn2pfn_algorithm, verify_checksum, deleted) VALUES ('{old}', '{stamp}', '{stamp}', "
    "'SITE-A', 'def', 'DISK', {t}, {f}, {f}, {t}, {t}, {t}, 'hash', {t}, {t})",
    "INSERT INTO rse_protocol (created_at, updated_at, rse_id, scheme, hostname, port, prefix, "
    "impl, read_lan, write_lan, delete_lan, read_wan, write_wan, delete_wan, "
    "third_party_copy_read, third_party_copy_write) VALUES ('{stamp}', '{stamp}', '{live}', "
    "'root', 'xrd.example.org', 1094, '/data', 'rucio.rse.protocols.xrootd.Default', "
    "0, 0, 0, 1, 2, 1, 1, 0)",
]
LIVE, OLD = "a" * 32, "b" * 32


def _statements(path):
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))
    return [part.strip() for part in text.split(";") if part.strip()]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    """The URL of a database with the 0.1.0 schema and 0.1.0 rows."""
    kind = request.param
    url = (f"sqlite:///{tmp_path / 'old.db'}" if kind == "sqlite"
           else create_pg_database("rt_migrate"))
    values = {"live": LIVE, "old": OLD, "stamp": STAMP,
              "t": "1" if kind == "sqlite" else "true", "f": "0" if kind == "sqlite" else "false"}
    rows = [row.format(**values) for row in ROWS]
    if kind == "sqlite":
        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            for statement in _statements(DATA / "schema-0.1.0.sqlite.sql") + rows:
                conn.execute(statement)
    else:
        dbname, kwargs = parse_postgres_url(url)
        with psycopg2.connect(dbname=dbname, **kwargs) as conn, conn.cursor() as cur:
            for statement in _statements(DATA / "schema-0.1.0.postgresql.sql") + rows:
                cur.execute(statement)
        conn.close()
    yield url
    if kind == "postgresql":
        drop_pg_database(url)


def _read(url, fn):
    database = Database(url)
    try:
        return database.run_sync(fn)
    finally:
        database.close()


def test_an_old_database_is_refused_then_upgraded(old_database, tmp_path, capsys):
    url = old_database
    data_dir = ["--data-dir", str(tmp_path / "var")]
    assert _read(url, lambda: None) is None
    assert migrations.version(Database(url)) == 1
    assert cli.main(["db", "current", "--db", url, *data_dir]) == 1
    assert "schema version 1" in capsys.readouterr().out
    assert cli.main(["serve", "--db", url, "--port", "0", *data_dir]) == 1
    err = capsys.readouterr().err
    assert "rucio-tornado db upgrade" in err and "Traceback" not in err and len(err.splitlines()) == 1

    assert cli.main(["db", "upgrade", "--db", url, *data_dir]) == 0
    out = capsys.readouterr().out
    assert f"schema at version {migrations.LATEST}" in out and "applied 2" in out
    assert cli.main(["db", "upgrade", "--db", url, *data_dir]) == 0      # idempotent
    assert "nothing to do" in capsys.readouterr().out
    assert cli.main(["db", "current", "--db", url, *data_dir]) == 0

    def read_back():
        protocol = RSEProtocol.get(RSEProtocol.rse_id == LIVE)
        return {
            "account": Account.get(Account.account == "jdoe").account_type,
            "priorities": (protocol.read_lan, protocol.read_wan, protocol.write_wan,
                           protocol.third_party_copy_write),
            "rses": sorted((r.rse, r.deleted) for r in RSE.select()),
            "versions": [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)],
            "new_table": ConfigOption.select().count(),
        }
    found = _read(url, read_back)
    assert found["account"] == "USER"
    assert found["priorities"] == (None, 1, 2, None)      # 0.1.0's 0 meant "not supported"
    assert found["rses"] == [("SITE-A", False), (f"SITE-A-deleted-{OLD[:8]}", True)]
    assert found["versions"] == list(range(1, migrations.LATEST + 1))
    assert found["new_table"] == 0
    # the upgraded database serves: bootstrap works on it, and a deleted RSE's name stays taken
    assert cli.main(["bootstrap", "--db", url, *data_dir]) == 0
    assert "root" in _read(url, lambda: [a.account for a in Account.select()])


def test_a_fresh_database_is_created_at_the_latest_version(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert cli.main(["db", "init", "--db", url]) == 0
    assert migrations.version(Database(url)) == migrations.LATEST
    assert cli.main(["db", "upgrade", "--db", url]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_a_newer_database_is_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    assert cli.main(["db", "init", "--db", url]) == 0
    _read(url, lambda: SchemaVersion.create(version=migrations.LATEST + 1, description="future",
                                            applied_at=STAMP))
    assert cli.main(["serve", "--db", url, "--port", "0"]) == 1
    assert "newer than this server" in capsys.readouterr().err
    assert cli.main(["db", "upgrade", "--db", url]) == 1
