"""Profile ``attach_dids`` of N files into one dataset, in calls of ``--chunk`` files each,
in-process (no HTTP), on a fresh database.

    python tools/bench/profile_attach.py --backend postgresql --files 500000 [--profile -1]
    python tools/bench/profile_attach.py --backend sqlite --files 500000

Registers the files first (``add_replicas``, in the same chunks), creates a dataset, then
attaches the files call by call inside ``db.run_sync``, printing files/s per call: the last
call into a big dataset should be about as fast as the first. ``--profile K`` prints a
cProfile of attach call K (1-based; 0 = none, -1 = the last one).
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
from rucio_tornado.core.dids import add_did, attach_dids  # noqa: E402
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


def timed_attach(issuer, files, profiler=None):
    """Seconds taken by one ``attach_dids`` call (inside ``db.run_sync``)."""
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    attach_dids(issuer, "bench", "dataset", files)
    elapsed = time.perf_counter() - t0
    if profiler:
        profiler.disable()
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--files", type=int, default=500_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--profile", type=int, default=0, metavar="K")
    args = parser.parse_args()
    if args.backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='rt-prof-')}/bench.db"
    else:
        from tests.conftest import create_pg_database
        url = create_pg_database("rt_prof")
    db = Database(url)
    issuer = Issuer("root", is_admin=True)
    calls = -(-args.files // args.chunk)
    profile_call = calls if args.profile == -1 else args.profile
    try:
        db.create_schema()
        setup(db)
        files = [{"scope": "bench", "name": f"file_{i:08d}", "bytes": 1000 + i % 1000,
                  "adler32": "0cc737eb"} for i in range(args.files)]
        for start in range(0, len(files), args.chunk):
            part = files[start:start + args.chunk]
            t0 = time.perf_counter()
            db.run_sync(add_replicas, issuer, "BENCH-MOCK", part)
            elapsed = time.perf_counter() - t0
            print(f"{args.backend}: registered {len(part):,} files in {elapsed:.2f} s = "
                  f"{len(part) / elapsed:,.0f} files/s (scope now {start + len(part):,})",
                  flush=True)
        db.run_sync(add_did, issuer, "bench", "dataset", "DATASET")
        for call, start in enumerate(range(0, len(files), args.chunk), 1):
            part = files[start:start + args.chunk]
            profiler = cProfile.Profile() if call == profile_call else None

            elapsed = db.run_sync(timed_attach, issuer, part, profiler)
            print(f"{args.backend}: call {call}: {len(part):,} files in {elapsed:.2f} s = "
                  f"{len(part) / elapsed:,.0f} files/s (dataset now {start + len(part):,})",
                  flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    finally:
        db.close()
        if args.backend == "postgresql":
            from tests.conftest import drop_pg_database
            drop_pg_database(url)


if __name__ == "__main__":
    main()
