"""Failed-login throttling: per identity and per client address, in this process.

After ``max_failures`` failed password logins for one identity within ``window`` seconds (or
three times as many from one client address, which may be a site's NAT), further logins of that
identity (from that address) get ``429 CannotAuthenticate`` with ``Retry-After`` until the
window that started with the first failure ends, before any database work or hashing. A
successful login clears its identity's count. The real client does not retry a 429 (it retries
only 502/503/504), so a throttled user sees one clear error.

Counts live in the process: with ``processes = N`` an attacker spread over the workers gets up
to N times the attempts (docs/RELIABILITY.md); memory is bounded by :data:`MAX_KEYS`.
"""
import threading
import time

from rucio_tornado import exceptions

MAX_KEYS = 100_000
ADDRESS_FACTOR = 3


class LoginThrottle:
    def __init__(self, max_failures=10, window=300.0, clock=time.monotonic):
        self.max_failures, self.window, self.clock = max_failures, window, clock
        self._failures = {}            # key -> [first failure time, count]
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.login_max_failures, settings.login_failure_window)

    @staticmethod
    def keys(identity, address):
        return ("identity", identity), ("address", address)

    def _limit(self, key):
        return self.max_failures * (ADDRESS_FACTOR if key[0] == "address" else 1)

    def check(self, identity, address):
        """Raise LoginThrottled if the identity or the address failed too often lately."""
        now = self.clock()
        with self._lock:
            for key in self.keys(identity, address):
                entry = self._failures.get(key)
                if entry is None:
                    continue
                if now - entry[0] >= self.window:
                    del self._failures[key]
                elif entry[1] >= self._limit(key):
                    wait = max(1, int(entry[0] + self.window - now + 0.999))
                    error = exceptions.LoginThrottled(
                        f"Cannot authenticate: too many failed logins for this {key[0]}; "
                        f"try again in {wait} seconds")
                    error.headers = {"Retry-After": str(wait)}
                    raise error

    def failed(self, identity, address):
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._prune(now)
            for key in self.keys(identity, address):
                entry = self._failures.get(key)
                if entry is None or now - entry[0] >= self.window:
                    self._failures[key] = [now, 1]
                else:
                    entry[1] += 1

    def succeeded(self, identity):
        with self._lock:
            self._failures.pop(("identity", identity), None)

    def _prune(self, now):
        expired = [key for key, (start, _) in self._failures.items()
                   if now - start >= self.window]
        for key in expired:
            del self._failures[key]
        while len(self._failures) > MAX_KEYS // 2:  # still full: forget the oldest windows
            del self._failures[next(iter(self._failures))]
