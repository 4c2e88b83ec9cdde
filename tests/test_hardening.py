"""Issue 12, items 3, 4, 5 and 8 in process (both databases): limits before work, login
throttling, errors that keep their body and hide the database's internals, production's root
password, SQLite file modes. Real-server limits and faults: tests/test_hardening_server.py."""
import os
import stat
import threading
import time

import pytest
import ujson
from tornado.tcpclient import TCPClient

from rucio_tornado import cli, db as dbmodule, exceptions
from rucio_tornado.app import make_app
from rucio_tornado.config import Settings, validate
from rucio_tornado.core.auth import passwords
from rucio_tornado.db import Database
from rucio_tornado.models import Account
from tests.conftest import TEST_SECRET, Api, create_pg_database, drop_pg_database

LIMIT = 4096


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=str(tmp_path), jwt_secret=TEST_SECRET, periodic_tasks=False,
                    max_body_size=LIMIT, max_bulk_items=3, login_max_failures=3,
                    login_failure_window=60)


async def _raw(base_url, head, body=b""):
    """Send ``head`` (and ``body``) on a new connection; the response's head and JSON body."""
    host, port = base_url.split("//")[1].split(":")
    stream = await TCPClient().connect(host, int(port))
    try:
        await stream.write(head.encode() + body)
        header = (await stream.read_until(b"\r\n\r\n")).decode()
        length = int(header.lower().split("content-length:")[1].split("\r\n")[0])
        return header, ujson.loads(await stream.read_bytes(length))
    finally:
        stream.close()


def _status(header):
    return int(header.split()[1])


# -- item 4: limits before work ----------------------------------------------------------------
@pytest.mark.gen_test
async def test_a_declared_body_over_the_limit_is_413_before_a_byte_of_it_is_read(api, base_url):
    header, body = await _raw(base_url, f"POST /replicas/list HTTP/1.1\r\nHost: x\r\n"
                              f"X-Rucio-Auth-Token: {api.token}\r\n"
                              f"Content-Length: {10 ** 9}\r\n\r\n")
    assert _status(header) == 413 and "exceptionclass: inputvalidationerror" in header.lower()
    assert body["ExceptionClass"] == "InputValidationError" and str(LIMIT) in \
        body["ExceptionMessage"]


@pytest.mark.gen_test
@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_the_token_is_checked_before_a_large_body_is_read(api, base_url, token):
    auth = f"X-Rucio-Auth-Token: {token}\r\n" if token else ""
    header, body = await _raw(base_url, f"POST /replicas/list HTTP/1.1\r\nHost: x\r\n{auth}"
                              f"Content-Length: {10 ** 9}\r\n\r\n")        # body never sent
    assert _status(header) in (400, 401)
    assert body["ExceptionClass"] in ("ValueError", "CannotAuthenticate")


@pytest.mark.gen_test
async def test_a_chunked_body_over_the_limit_is_413(api, base_url):
    chunk = b"%x\r\n%s\r\n" % (1000, b" " * 1000)
    header, body = await _raw(base_url, f"POST /replicas/list HTTP/1.1\r\nHost: x\r\n"
                              f"X-Rucio-Auth-Token: {api.token}\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n", chunk * 5)
    assert _status(header) == 413 and body["ExceptionClass"] == "InputValidationError"


@pytest.mark.gen_test
async def test_small_refused_bodies_still_get_their_answer_and_allowed_ones_work(api):
    refused = await api.as_(None).post("/replicas/list", {"dids": []},
                                       headers={"X-Rucio-Auth-Token": "not-a-token"})
    assert refused.status == 401 and refused.json()["ExceptionClass"] == "CannotAuthenticate"
    missing = await api.post("/nosuchroute", {"x": 1})
    assert missing.status == 404 and missing.json()["ExceptionClass"] == "NotFound"
    body = {"dids": [{"scope": "mock", "name": f"f{i}"} for i in range(3)]}
    assert len(ujson.dumps(body)) < LIMIT
    assert (await api.post("/replicas/list", body)).status == 200     # json_body as before
    assert (await api.post("/accounts/limited", {"type": "USER", "email": ""})).status == 201


@pytest.mark.gen_test
async def test_bulk_calls_above_max_bulk_items_are_413(api):
    body = {"dids": [{"scope": "mock", "name": f"f{i}"} for i in range(4)]}
    response = await api.post("/replicas/list", body)
    assert response.status == 413 and response.exception_class == "InputValidationError"
    assert "at most 3 per call" in response.json()["ExceptionMessage"]
    assert (await api.post("/rses/MOCK")).status == 201
    files = [{"scope": "mock", "name": f"f{i}", "bytes": 1, "adler32": "0cc737eb"}
             for i in range(4)]
    for method, path, payload in [
            ("POST", "/replicas", {"rse": "MOCK", "files": files}),
            ("PUT", "/replicas", {"rse": "MOCK", "files": files}),
            ("POST", "/replicas/tombstone", {"replicas": files}),
            ("POST", "/dids/attachments", {"attachments": [{"scope": "mock", "name": "d",
                                                            "dids": files}] * 4}),
            ("POST", "/dids", [{"scope": "mock", "name": f"d{i}", "type": "DATASET"}
                               for i in range(4)]),
            ("POST", "/locks/bulk_locks_for_dids", {"dids": files})]:
        response = await api.request(method, path, payload)
        assert (response.status, response.exception_class) == (413, "InputValidationError"), \
            (method, path, response)


# -- item 8: errors keep their body, and no internals -------------------------------------------
@pytest.mark.gen_test
async def test_control_characters_are_cut_from_the_header_only(db, settings, tokens,
                                                               http_client, base_url):
    message = "bad name 'a\x00b\x01c\x7f' \ud800"

    def refuse(handler):
        raise exceptions.InvalidObject(message)
    app = make_app(settings, db, tokens=tokens, request_checks=[refuse])
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    try:
        response = await Api(http_client, f"http://127.0.0.1:{port}", tokens).get("/ping")
    finally:
        server.stop()
    assert response.status == 400
    assert response.headers["ExceptionClass"] == "InvalidObject"
    assert response.headers["ExceptionMessage"] == "bad name 'a?b?c?' ?"
    assert response.json() == {"ExceptionClass": "InvalidObject", "ExceptionMessage": message}


def test_integrity_and_data_errors_name_no_constraint(db):
    def duplicate():
        Account.create(account="root", account_type="USER")
    with pytest.raises(exceptions.Duplicate) as raised:
        db.run_sync(duplicate)
    assert raised.value.message == dbmodule.INTEGRITY_MESSAGE
    if db.is_postgresql:                 # SQLite stores any length in a VARCHAR
        with pytest.raises(exceptions.InvalidObject) as raised:
            db.run_sync(lambda: Account.create(account="x" * 300, account_type="USER"))
        assert raised.value.message == dbmodule.DATA_MESSAGE


def test_an_unreachable_database_is_a_clean_database_exception(tmp_path):
    from tests.live import free_port
    database = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/nothing", pool_size=1,
                        stream_pool_size=1)
    try:
        with pytest.raises(exceptions.DatabaseException) as raised:
            database.run_sync(database.ping)
        assert raised.value.message == dbmodule.UNAVAILABLE_MESSAGE
        assert "127.0.0.1" not in raised.value.message
    finally:
        database.close()


def test_a_pooled_connection_the_server_ended_is_replaced_without_an_error(db):
    """The pool checks an idle connection with a poll of its socket (no round trip): one the
    server terminated (as a restart does) is discarded at checkout, the next call works."""
    if not db.is_postgresql:
        pytest.skip("PostgreSQL connection pool")
    backend = db.run_sync(lambda: db.peewee.execute_sql("SELECT pg_backend_pid()").fetchone())
    other = db.stream_pool.connect()            # not one of the pool's
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", backend)
            assert cursor.fetchone() == (True,)
            for _ in range(100):                # the signal is sent; wait until it is gone
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", backend)
                if cursor.fetchone() == (0,):
                    break
                time.sleep(0.02)
            time.sleep(0.1)                     # its socket closes as the process exits
    finally:
        other.close()
    for _ in range(3):
        assert db.run_sync(lambda: db.peewee.execute_sql(
            "SELECT pg_backend_pid()").fetchone()) != backend


# -- item 5: login throttling, scrypt off the database executor ----------------------------------
def _login(api, username, password, address=None):
    headers = {"X-Rucio-Username": username, "X-Rucio-Password": password}
    return api.as_(None).get("/auth/userpass", headers=headers)


@pytest.mark.gen_test
async def test_failed_logins_are_throttled_per_identity(api):
    assert (await _login(api, "ddmlab", "secret")).status == 200
    for _ in range(3):
        assert (await _login(api, "ddmlab", "wrong")).status == 401
    throttled = await _login(api, "ddmlab", "secret")        # even the right password
    assert throttled.status == 429 and throttled.exception_class == "CannotAuthenticate"
    assert "too many failed logins" in throttled.json()["ExceptionMessage"]
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    token = await api.as_(None).post("/auth/token", {"username": "ddmlab", "password": "secret"})
    assert token.status == 429


@pytest.mark.gen_test
async def test_failed_logins_are_throttled_per_address(api):
    for i in range(9):               # 3 x login_max_failures, spread over identities
        assert (await _login(api, f"nobody{i}", "wrong")).status == 401
    assert (await _login(api, "ddmlab", "secret")).status == 429


@pytest.mark.gen_test
async def test_a_success_clears_the_identity_count(api):
    for _ in range(2):
        await _login(api, "ddmlab", "wrong")
    assert (await _login(api, "ddmlab", "secret")).status == 200
    for _ in range(2):
        assert (await _login(api, "ddmlab", "wrong")).status == 401
    assert (await _login(api, "ddmlab", "secret")).status == 200


@pytest.mark.gen_test
async def test_scrypt_runs_in_its_own_pool(api, monkeypatch):
    threads = []
    real = passwords.verify_password

    def recording(password, stored):
        threads.append(threading.current_thread().name)
        return real(password, stored)
    monkeypatch.setattr(passwords, "verify_password", recording)
    assert (await _login(api, "ddmlab", "secret")).status == 200
    assert threads and all(name.startswith("scrypt") for name in threads), threads


# -- item 3: production never keeps the development password -------------------------------------
@pytest.mark.parametrize("proxies", ["0.0.0.0/0", "::/0", "10.0.0.1, 0.0.0.0/0", "::/0, ::1"])
def test_trusted_proxies_covering_everything_are_refused(proxies):
    problems = validate(Settings(trusted_proxies=proxies))
    assert any("must not cover every address" in problem for problem in problems), problems


def test_production_refuses_short_root_passwords():
    base = dict(mode="production", db="postgresql://rucio@db:5432/rucio", jwt_secret="x" * 32,
                trusted_proxies="127.0.0.1")
    assert any("at least 12 characters" in problem for problem in
               validate(Settings(**base, root_password="eleven-char")))
    assert validate(Settings(**base, root_password="twelve-chars")) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_production_applies_the_configured_password_to_an_old_root(tmp_path, backend):
    url = f"sqlite:///{tmp_path / 'boot.db'}" if backend == "sqlite" \
        else create_pg_database("rt_boot")
    strong = "a-strong-root-password"
    try:
        assert cli.prepare_database(Settings(db=url, data_dir=str(tmp_path))) is True
        production = Settings(mode="production", db=url, data_dir=str(tmp_path),
                              root_password=strong)
        assert cli.prepare_database(production) is True          # the password replaced
        assert cli.prepare_database(production) is False         # and only once
        assert cli.prepare_database(Settings(db=url, data_dir=str(tmp_path))) is False
        database = Database(url, pool_size=1, stream_pool_size=1)
        try:
            with pytest.raises(exceptions.CannotAuthenticate):
                database.run_sync(passwords.authenticate_userpass, "ddmlab", "secret")
            assert database.run_sync(passwords.authenticate_userpass, "ddmlab", strong) == \
                ("root", "ddmlab")
        finally:
            database.close()
    finally:
        if backend == "postgresql":
            drop_pg_database(url)


def test_sqlite_files_are_created_private(tmp_path):
    path = tmp_path / "new" / "private.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.run_sync(lambda: database.peewee.execute_sql("CREATE TABLE t (x)"))
        created = [p for p in path.parent.iterdir() if p.name.startswith("private.db")]
        assert len(created) >= 2        # the database and its WAL
        for item in created:
            assert stat.S_IMODE(os.stat(item).st_mode) == 0o600, item
    finally:
        database.close()
