"""The small requests' fast path (issue 15 item 3), correctness only, on both databases:
one_hop verbs check the token's account in their core call, the issuer's compiled statement,
the compiled point reads, and the per-process memory of verified tokens."""
import asyncio
import sqlite3
import time

import pytest

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.compiled import Compiled
from rucio_tornado.core import lookup
from rucio_tornado.core.auth import resolve
from rucio_tornado.core.auth.tokens import TokenService
from rucio_tornado.db import Database, parse_postgres_url
from rucio_tornado.models import DID, Account, AccountAttribute
from rucio_tornado.web.base import BaseHandler, one_hop
from tests.conftest import TEST_SECRET

POINT_READS = ("/dids/mock/dataset", "/accounts/jdoe", "/rses/MOCK", "/accounts/whoami")


async def _world(api):
    assert (await api.post("/accounts/jdoe", {"type": "USER", "email": None})).status == 201
    assert (await api.post("/accounts/root/scopes/mock")).status == 201
    assert (await api.post("/rses/MOCK", {})).status == 201
    assert (await api.post("/dids/mock/dataset", {"type": "DATASET", "lifetime": 3600})
            ).status == 201


@pytest.mark.gen_test
async def test_point_reads_refuse_a_suspended_account_at_once(api, db):
    await _world(api)
    jdoe = api.as_("jdoe")
    for path in POINT_READS:
        assert (await jdoe.get(path)).status in (200, 303), path
    # suspended behind this process's back (as another process or a database admin would)
    db.run_sync(lambda: Account.update(status="SUSPENDED").where(
        Account.account == "jdoe").execute())
    for path in POINT_READS:
        response = await jdoe.get(path)
        assert (response.status, response.exception_class) == (401, "CannotAuthenticate"), path
    db.run_sync(lambda: Account.update(status="ACTIVE").where(
        Account.account == "jdoe").execute())
    for path in POINT_READS:
        assert (await jdoe.get(path)).status in (200, 303), path
    assert (await api.delete("/accounts/jdoe")).status == 200
    for path in POINT_READS:
        assert (await jdoe.get(path)).status == 401, path


@pytest.mark.gen_test
async def test_point_reads_answer_as_before(api):
    await _world(api)
    did = (await api.get("/dids/mock/dataset")).json()
    assert did["scope"] == "mock" and did["type"] == "DATASET" and did["open"] is True
    assert did["expired_at"].endswith("UTC") and did["monotonic"] is False
    account = (await api.get("/accounts/jdoe")).json()
    assert account["status"] == "ACTIVE" and account["created_at"].endswith("UTC")
    rse = (await api.get("/rses/MOCK")).json()
    assert rse["rse"] == "MOCK" and rse["availability"] == 7 and rse["protocols"] == []
    for path, exception in (("/dids/mock/nothing", "DataIdentifierNotFound"),
                            ("/accounts/nobody", "AccountNotFound"),
                            ("/rses/NOWHERE", "RSENotFound")):
        response = await api.get(path)
        assert (response.status, response.exception_class) == (404, exception)
    assert (await api.get("/dids/mock/dataset", headers={"X-Rucio-Auth-Token": "x"})
            ).status == 401


@pytest.mark.gen_test
async def test_the_account_check_rides_along_the_point_read(api, db, monkeypatch):
    """PostgreSQL: one statement per point read of a DID or an account, the token's account
    check included (one round trip; SQLite makes the two); a failed check still wins over a
    missing object."""
    await _world(api)
    statements = []
    execute = Database.execute_compiled
    monkeypatch.setattr(Database, "execute_compiled",
                        lambda self, sql, params: statements.append(sql) or
                        execute(self, sql, params))
    jdoe = api.as_("jdoe")
    for path, status in (("/dids/mock/dataset", 200), ("/accounts/jdoe", 200),
                         ("/dids/mock/nothing", 404), ("/accounts/nobody", 404)):
        statements.clear()
        assert (await jdoe.get(path)).status == status, path
        assert len(statements) == (1 if db.is_postgresql else 2), (path, statements)
    statements.clear()
    rse = await jdoe.get("/rses/MOCK")                      # RSE, protocols, attributes
    assert rse.status == 200 and len(statements) == (3 if db.is_postgresql else 4)
    db.run_sync(lambda: Account.update(status="SUSPENDED").where(
        Account.account == "jdoe").execute())
    for path in ("/dids/mock/dataset", "/dids/mock/nothing", "/accounts/nobody",
                 "/rses/NOWHERE"):
        response = await jdoe.get(path)
        assert (response.status, response.exception_class) == (401, "CannotAuthenticate"), path


@pytest.mark.gen_test
async def test_point_reads_on_postgresql_are_prepared_once_per_connection(api, db):
    """PostgreSQL parses and plans a hot statement once per loop connection (PREPARE), and a
    new connection prepares its own; the answers are the same."""
    if not db.is_postgresql:
        pytest.skip("SQLite's driver keeps its own statement cache")
    await _world(api)
    jdoe = api.as_("jdoe")

    def prepared():
        cursor = db._loop_local.conn.cursor()
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return sorted(row[0].split(" AS ", 1)[1] for row in cursor.fetchall())

    answers = [(await jdoe.get(path)).body for path in POINT_READS[:3]]
    statements = prepared()
    assert len(statements) >= 4     # DID, account, RSE (each with the account check), protocols
    assert all("$1" in text for text in statements)
    assert [(await jdoe.get(path)).body for path in POINT_READS[:3]] == answers
    assert prepared() == statements                 # not prepared again
    db._loop_local.conn.close()                     # a new connection prepares its own
    db._loop_local.conn = None
    assert [(await jdoe.get(path)).body for path in POINT_READS[:3]] == answers
    again = prepared()
    assert again and set(again) <= set(statements)


def test_statements_postgresql_cannot_prepare_run_as_they_are(db):
    if not db.is_postgresql:
        pytest.skip("PostgreSQL only")
    conn = db._loop_connect()
    try:
        prepared = {}
        cursor = conn.cursor()
        assert dbmod._prepare(cursor, "SELECT %s IS NULL", prepared) == "SELECT %s IS NULL"
        sql = "SELECT 1 WHERE 'a%%' LIKE %s"
        assert dbmod._prepare(cursor, sql, prepared) == "EXECUTE rt_1(%s)"
        cursor.execute(prepared[sql], ["a%"])
        assert cursor.fetchall() == [(1,)]
    finally:
        conn.close()


def test_a_short_read_checks_the_account_whatever_it_does(db):
    """``read_as_account``: the check rides along the first point read, is made at once when
    the read asks whether the issuer is an admin, and after a read that ran no statement or
    raised; a failed check replaces the read's own error."""
    db.run_sync(lambda: Account.create(account="jdoe", account_type="USER"))

    def admin_then_read(issuer):
        return issuer.is_admin, lookup.account_read("root").account

    def refuse(issuer):
        raise exceptions.InvalidObject("bad input")

    run = db.run_sync
    assert run(resolve.read_as_account, "root", admin_then_read)[1] == (True, "root")
    issuer, result = run(resolve.read_as_account, "jdoe", admin_then_read)
    assert (issuer.account, issuer.is_admin, result) == ("jdoe", False, (False, "root"))
    assert run(resolve.read_as_account, "jdoe", lambda issuer: "no statement")[1] == \
        "no statement"
    with pytest.raises(exceptions.InvalidObject):
        run(resolve.read_as_account, "jdoe", refuse)
    with pytest.raises(exceptions.AccountNotFound):
        run(resolve.read_as_account, "jdoe", lambda issuer: lookup.account_read("nobody"))
    for account in ("nobody", None):
        for fn in (admin_then_read, refuse, lambda issuer: lookup.account_read("nobody"),
                   lambda issuer: "no statement"):
            with pytest.raises(exceptions.CannotAuthenticate):
                run(resolve.read_as_account, account, fn)
    # the rider never outlives its read: the next point read is an ordinary one
    assert run(lambda: lookup.account_read("jdoe").account) == "jdoe"


def test_issuer_reads_the_admin_attribute(db):
    def issuers():
        return [resolve.issuer_for_account(name) for name in ("root", "jdoe", "admin2")]

    def setup():
        for name in ("jdoe", "admin2"):
            Account.create(account=name, account_type="USER")
        AccountAttribute.create(account="admin2", key="admin", value="true")
        AccountAttribute.create(account="jdoe", key="other", value="true")

    db.run_sync(setup)
    assert [i.is_admin for i in db.run_sync(issuers)] == [True, False, True]
    for name in ("nobody", None, 7):
        with pytest.raises(exceptions.CannotAuthenticate):
            db.run_sync(resolve.issuer_for_account, name)


def test_compiled_rows_are_the_models_values(db):
    def rows():
        DID.create(scope="s", name="n", did_type="DATASET", account="root", is_open=True,
                   expired_at=DID.created_at.default())
        model = DID.get(DID.scope == "s", DID.name == "n")
        return model, lookup.did_read("s", "n"), Compiled(
            lambda scope: DID.select(DID.name).where(DID.scope == scope)).all("s")

    model, row, names = db.run_sync(rows)
    assert row._asdict() == model.__data__
    assert [r.name for r in names] == ["n"]
    with pytest.raises(exceptions.DataIdentifierNotFound):
        db.run_sync(lookup.did_read, "s", "missing")


def test_verified_tokens_are_remembered_until_they_expire():
    service = TokenService(TEST_SECRET, lifetime=1)
    token, _ = service.issue("jdoe")
    claims = service.decode(token)
    assert service.decode(token) is claims           # remembered: no second verification
    while time.time() < claims["exp"]:              # at most a second (iat has no fraction)
        time.sleep(0.05)
    with pytest.raises(exceptions.CannotAuthenticate):
        service.decode(token)
    assert token not in service._verified
    other = TokenService("another key " * 4)
    with pytest.raises(exceptions.CannotAuthenticate):
        other.decode(token)                          # the memory is per key (per service)
    with pytest.raises(exceptions.CannotAuthenticate):
        service.decode(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))


class _Forgetful(BaseHandler):
    @one_hop
    async def get(self):
        self.send_json({"answered": "without its core call"})


@pytest.mark.gen_test
async def test_a_one_hop_verb_cannot_answer_unchecked(app, api):
    app.add_handlers(r".*", [(r"/test/forgetful", _Forgetful)])
    app.default_router.rules.insert(0, app.default_router.rules.pop())
    response = await api.get("/test/forgetful")
    assert response.status == 500


def test_point_reads_run_on_the_loop_only_where_the_database_is_local(db, tmp_path):
    assert db.reads_on_loop                       # a SQLite file, PostgreSQL on 127.0.0.1
    assert not Database(db.url, loop_reads="never").reads_on_loop
    assert not Database(f"sqlite:///{tmp_path}/x.db", loop_reads="never").reads_on_loop
    assert not Database("sqlite:///:memory:").reads_on_loop    # a connection each: no
    remote = Database("postgresql://postgres@db.example.org:5432/rucio")
    assert not remote.reads_on_loop               # a network round trip: the executor
    assert Database("postgresql://postgres@db.example.org/rucio",
                    loop_reads="always").reads_on_loop


def _break(db, conn):
    """End the IOLoop's connection behind its back (a restarted database, a killed backend)."""
    if db.is_postgresql:
        db.run_sync(lambda: db.peewee.execute_sql(
            "SELECT pg_terminate_backend(%s)", (conn.get_backend_pid(),)))
    else:
        conn.close()


@pytest.mark.gen_test
async def test_a_broken_loop_connection_is_replaced_and_the_request_answered(api, db,
                                                                            monkeypatch):
    monkeypatch.setattr(dbmod, "LOOP_READ_PAUSE", 0.2)
    await _world(api)
    jdoe = api.as_("jdoe")
    assert (await jdoe.get("/accounts/jdoe")).status == 200
    first = db._loop_local.conn          # the tests' IOLoop runs on this thread
    assert first is not None
    _break(db, first)
    for path in POINT_READS:             # the first finds it broken: all in the executor
        assert (await jdoe.get(path)).status in (200, 303), path
    assert db._loop_local.conn is None   # not reconnected on every request while paused
    await asyncio.sleep(0.3)
    assert (await jdoe.get("/accounts/jdoe")).status == 200
    assert db._loop_local.conn is not None and db._loop_local.conn is not first


@pytest.mark.gen_test(timeout=30)
async def test_a_locked_table_does_not_stall_the_loop(api, db):
    """PostgreSQL: the loop's connection gives up on a lock within milliseconds and the read
    waits in the executor while the loop answers others. SQLite: a WAL reader waits for no
    writer, and sees only what is committed."""
    await _world(api)
    jdoe = api.as_("jdoe")
    locker = _lock_accounts(db)
    try:
        read = asyncio.ensure_future(jdoe.get("/accounts/jdoe"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        assert (await api.get("/ping")).status == 200
        assert time.monotonic() - started < 0.5
        if db.is_postgresql:
            assert not read.done()              # waiting for the lock, in the executor
        else:
            response = await read               # answered at once, the committed row
            assert response.status == 200 and response.json()["email"] is None
    finally:
        locker.rollback()
        locker.close()
    assert (await read).status == 200


def _lock_accounts(db):
    """A connection of its own in a transaction that holds the account table: nobody may read
    it on PostgreSQL; on SQLite an uncommitted change of every row."""
    table = Account._meta.table_name
    if db.is_postgresql:
        import psycopg2
        dbname, kwargs = parse_postgres_url(db.url)
        conn = psycopg2.connect(dbname=dbname, **kwargs)
        conn.cursor().execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        return conn
    conn = sqlite3.connect(db.peewee.database)
    conn.execute(f"UPDATE \"{table}\" SET email = 'uncommitted@example.org'")
    return conn
