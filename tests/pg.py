"""Throw-away PostgreSQL databases for tests: skipped when no server is reachable, except
where ``RUCIO_TORNADO_REQUIRE_PG=1`` (CI) makes that a failure."""
import os

import pytest

from rucio_tornado import testing

REQUIRE_PG = os.environ.get("RUCIO_TORNADO_REQUIRE_PG") == "1"
drop_pg_database = testing.drop_pg_database


def create_pg_database(prefix="rt_test"):
    """Create a uniquely named database; returns its URL (skips/fails if PG is unreachable)."""
    try:
        return testing.create_pg_database(prefix)
    except testing.PostgreSQLUnavailable as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
