"""Shared set-up of the in-process profiling scripts: a throw-away database with scope
``bench``, RSE ``BENCH-MOCK`` (a ``file://localhost/rucio`` protocol) and account root."""
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rucio_tornado.core import install  # noqa: E402
from rucio_tornado.core.permissions import Issuer  # noqa: E402
from rucio_tornado.db import Database  # noqa: E402
from rucio_tornado import migrations  # noqa: E402
from rucio_tornado.models import RSE, Account, RSEProtocol, Scope  # noqa: E402

ROOT = Issuer("root", is_admin=True)


def _create_world():
    Account.create(account="root", account_type="SERVICE")
    Scope.create(scope="bench", account="root")
    rse = RSE.create(rse="BENCH-MOCK")
    RSEProtocol.create(rse_id=rse.id, scheme="file", hostname="localhost", port=0,
                       prefix="/rucio", impl="rucio.rse.protocols.posix.Default",
                       read_wan=1, write_wan=1, delete_wan=1)


@contextlib.contextmanager
def fresh_database(backend):
    """A new SQLite file or PostgreSQL database with the bench world; dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='rt-prof-')}/bench.db"
    else:
        from rucio_tornado.testing import create_pg_database
        url = create_pg_database("rt_prof")
    db = Database(url)
    install()
    try:
        migrations.create(db)
        db.run_sync(_create_world)
        yield db
    finally:
        db.close()
        if backend == "postgresql":
            from rucio_tornado.testing import drop_pg_database
            drop_pg_database(url)


def bench_files(count):
    return [{"scope": "bench", "name": f"file_{i:08d}", "bytes": 1000 + i % 1000,
             "adler32": "0cc737eb"} for i in range(count)]


def timed(fn, *args, profiler=None):
    """Seconds ``fn(*args)`` takes (call it inside ``db.run_sync``), optionally profiled."""
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.disable()
    return elapsed
