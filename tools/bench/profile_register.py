"""Profile one ``add_replicas`` call of N new files in-process (no HTTP), on a fresh database.

    python tools/bench/profile_register.py --backend sqlite --files 100000 [--profile]
    python tools/bench/profile_register.py --backend postgresql --files 100000 [--profile]

Prints files/s of the core call (validation, checks, inserts, the REPLICAS_AVAILABLE hook)
inside ``db.run_sync``; with ``--profile``, the top of a cProfile of that call.
"""
import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rucio_tornado.core import rule_events  # noqa: E402,F401  (registers the rules' hooks)
from rucio_tornado.core.permissions import Issuer  # noqa: E402
from rucio_tornado.core.replicas import add_replicas  # noqa: E402
from rucio_tornado.db import Database  # noqa: E402
from rucio_tornado.models import RSE, Account, RSEProtocol, Scope  # noqa: E402


def setup(db):
    def create():
        Account.create(account="root", account_type="SERVICE")
        Scope.create(scope="bench", account="root")
        rse = RSE.create(rse="BENCH-MOCK")
        RSEProtocol.create(rse_id=rse.id, scheme="file", hostname="localhost", port=0,
                           prefix="/rucio", impl="rucio.rse.protocols.posix.Default",
                           read_wan=1, write_wan=1, delete_wan=1)
    db.run_sync(create)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='rt-prof-')}/bench.db"
    else:
        from tests.conftest import create_pg_database
        url = create_pg_database("rt_prof")
    db = Database(url)
    try:
        db.create_schema()
        setup(db)
        files = [{"scope": "bench", "name": f"file_{i:08d}", "bytes": 1000 + i % 1000,
                  "adler32": "0cc737eb"} for i in range(args.files)]
        issuer = Issuer("root", is_admin=True)
        profiler = cProfile.Profile() if args.profile else None

        def run():
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            add_replicas(issuer, "BENCH-MOCK", files)
            elapsed = time.perf_counter() - t0
            if profiler:
                profiler.disable()
            return elapsed
        elapsed = db.run_sync(run)
        print(f"{args.backend}: {args.files:,} files in {elapsed:.2f} s = "
              f"{args.files / elapsed:,.0f} files/s")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        db.close()
        if args.backend == "postgresql":
            from tests.conftest import drop_pg_database
            drop_pg_database(url)


if __name__ == "__main__":
    main()
