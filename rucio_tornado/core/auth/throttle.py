"""Failed-login throttling per identity and per client address, shared by every server process
through the database (table ``login_failure``).

After ``max_failures`` failed password logins for one identity within ``window`` seconds (or
three times as many from one client address, which may be a site's NAT), further logins of that
identity (from that address) get ``429 CannotAuthenticate`` with ``Retry-After`` until the
window that started with the first failure ends, before the password is hashed. A successful
login clears its identity's count. The real client does not retry a 429 (it retries only
502/503/504), so a throttled user sees one clear error.

Every method runs in the database executor (the hashing does not: ``web/auth.py``).
:meth:`check` is one indexed read of at most two rows, run in the same executor call as the
read of the password hash; a failure is one ``INSERT ... ON CONFLICT DO UPDATE`` of both rows
(atomic on PostgreSQL and SQLite, so concurrent guesses on several processes all count); a
success writes only when its identity had failures. Rows of ended windows are deleted by the
process that records a failure, at most once a window.
"""
import datetime
import hashlib
import time

from peewee import EXCLUDED, Case

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.models import LoginFailure, utcnow

ADDRESS_FACTOR = 3


class LoginThrottle:
    def __init__(self, max_failures=10, window=300.0, clock=utcnow):
        self.max_failures, self.window, self.clock = max_failures, window, clock
        self._pruned = None             # monotonic time of this process's last expiry pass

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.login_max_failures, settings.login_failure_window)

    @staticmethod
    def keys(identity, address):
        """The rows of a login: its identity's (hashed: names may be 2 KB) and its address's."""
        keys = [] if identity is None else [
            "identity:" + hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()]
        return keys + ([f"address:{address}"[:80]] if address else [])

    def _limit(self, key):
        return self.max_failures * (ADDRESS_FACTOR if key.startswith("address:") else 1)

    def _cutoff(self, now):
        return now - datetime.timedelta(seconds=self.window)

    def check(self, identity, address) -> bool:
        """LoginThrottled if the identity or the address failed too often in their current
        window; else whether the identity has failures in it (a success must clear them)."""
        now = self.clock()
        keys = self.keys(identity, address)
        rows = (LoginFailure.select(LoginFailure.key, LoginFailure.window_start,
                                    LoginFailure.failures)
                .where(LoginFailure.key.in_(keys),
                       LoginFailure.window_start > self._cutoff(now)).tuples())
        pending = False
        for key, start, failures in rows:
            if failures >= self._limit(key):
                wait = max(1, int((start - now).total_seconds() + self.window + 0.999))
                kind = key.split(":", 1)[0]
                error = exceptions.LoginThrottled(
                    f"Cannot authenticate: too many failed logins for this {kind}; "
                    f"try again in {wait} seconds")
                error.headers = {"Retry-After": str(wait)}
                raise error
            pending = pending or key.startswith("identity:")
        return pending

    def failed(self, identity, address) -> None:
        """Count one failure for the identity and the address (a window that ended starts
        again at 1)."""
        now, keys = self.clock(), self.keys(identity, address)
        if not keys:
            return
        ended = LoginFailure.window_start <= self._cutoff(now)
        (LoginFailure.insert_many([{"key": key, "window_start": now, "failures": 1,
                                    "created_at": now, "updated_at": now} for key in keys])
         .on_conflict(conflict_target=[LoginFailure.key], update={
             LoginFailure.failures: Case(None, [(ended, 1)], LoginFailure.failures + 1),
             LoginFailure.window_start: Case(None, [(ended, EXCLUDED.window_start)],
                                             LoginFailure.window_start),
             LoginFailure.updated_at: EXCLUDED.updated_at})
         .execute())
        self._expire(now)

    def succeeded(self, identity) -> None:
        LoginFailure.delete().where(LoginFailure.key.in_(self.keys(identity, None))).execute()

    def _expire(self, now):
        """Delete the rows of ended windows, at most once a window per process. PostgreSQL
        skips rows a concurrent failure is updating (no lock waits in either direction)."""
        if self._pruned is not None and time.monotonic() - self._pruned < self.window:
            return
        self._pruned = time.monotonic()
        ended = LoginFailure.select(LoginFailure.key).where(
            LoginFailure.window_start <= self._cutoff(now))
        if dbmod.current().is_postgresql:
            ended = ended.for_update(skip_locked=True)
        LoginFailure.delete().where(LoginFailure.key.in_(ended)).execute()

