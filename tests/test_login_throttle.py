"""Failed-login counters are shared by every server process through the database (issue 12 item
5): two servers on one database (SQLite and PostgreSQL) count one guesser once, concurrent
guesses are all counted (an atomic upsert), ended windows restart and their rows expire."""
import datetime
import threading

import pytest
import requests

from rucio_tornado import exceptions
from rucio_tornado.core.auth.throttle import LoginThrottle
from rucio_tornado.models import LoginFailure
from tests.pg import create_pg_database, drop_pg_database
from tests.prodtools import Server

SETTINGS = {"login_max_failures": 3, "login_failure_window": 60}


def _login(server, password, username="ddmlab"):
    return requests.get(server.url + "/auth/userpass", timeout=30, headers={
        "X-Rucio-Account": "root", "X-Rucio-Username": username, "X-Rucio-Password": password})


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(request, tmp_path):
    url = (create_pg_database("rt_throttle") if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'shared.db'}")
    servers = [Server(tmp_path / f"s{i}", dict(SETTINGS, db=url)) for i in range(2)]
    try:
        yield servers
    finally:
        for server in servers:
            assert server.stop() == 0, server.log()
        if request.param == "postgresql":
            drop_pg_database(url)


def test_two_servers_on_one_database_share_the_count(two_servers):
    first, second = two_servers
    assert _login(first, "secret").status_code == 200
    assert [_login(s, "wrong").status_code for s in (first, second, first)] == [401] * 3
    for server in two_servers:                  # per process, each would have allowed more
        throttled = _login(server, "secret")
        assert throttled.status_code == 429, throttled.text
        assert throttled.headers["ExceptionClass"] == "CannotAuthenticate"
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60


def test_concurrent_guesses_on_both_servers_are_all_counted(two_servers):
    """12 guesses for 12 identities at once, half on each server: each failure is counted for
    the address (limit 9; a lost update would leave it below), so the next login from this
    address is refused on both."""
    barrier, answers = threading.Barrier(12), []

    def guess(i):
        barrier.wait()
        answers.append(_login(two_servers[i % 2], "wrong", username=f"nobody{i}").status_code)
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) <= {401, 429} and answers.count(401) >= 9, answers
    for server in two_servers:
        assert _login(server, "secret").status_code == 429


def test_windows_end_rows_expire_and_a_success_clears(db):
    now = [datetime.datetime(2026, 1, 1, 12, 0)]
    throttle = LoginThrottle(2, 10, clock=lambda: now[0])

    def run(fn, *args):
        return db.run_sync(fn, *args)
    assert run(throttle.check, "u", "1.2.3.4") is False
    for _ in range(2):
        run(throttle.failed, "u", "1.2.3.4")
    with pytest.raises(exceptions.LoginThrottled) as raised:
        run(throttle.check, "u", "1.2.3.4")
    assert raised.value.headers == {"Retry-After": "10"}
    now[0] += datetime.timedelta(seconds=10)            # the window ended
    assert run(throttle.check, "u", "1.2.3.4") is False
    run(throttle.failed, "u", "5.6.7.8")                # starts again at 1
    assert run(throttle.check, "u", "1.2.3.4") is True  # a success must clear it
    run(throttle.succeeded, "u")
    assert run(throttle.check, "u", "1.2.3.4") is False
    for i in range(50):
        run(throttle.failed, f"user{i}", "10.0.0.1")
    assert run(lambda: LoginFailure.select().count()) == 53
    now[0] += datetime.timedelta(seconds=10)
    throttle._pruned = None                             # the next expiry pass is due
    run(throttle.failed, "last", "10.9.9.9")
    assert run(lambda: sorted(r.key for r in LoginFailure.select())) == \
        sorted(throttle.keys("last", "10.9.9.9"))
