"""Time (and optionally profile) one replica listing of a loaded database in-process (no HTTP).

    python tools/bench/profile_listing.py --db sqlite:///DIR/bench.db [--profile] [--repeat 3]
    python tools/bench/profile_listing.py --db postgresql://postgres@127.0.0.1:5432/NAME

Uses a database loaded by ``bench_replicas.py --keep``: streams the dataset's replicas through
``replica_list.list_did_replicas`` inside the DB executor, batch by batch as the server does,
encoding each batch like the handler; prints rows/s and, with ``--profile``, a cProfile top.
"""
import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rucio_tornado.core.permissions import Issuer  # noqa: E402
from rucio_tornado.core.replicas.listing import list_did_replicas  # noqa: E402
from rucio_tornado.db import Database  # noqa: E402
from rucio_tornado.web.streaming import _encode_next, encode_text  # noqa: E402


def consume(scope, name, schemes=None):
    """(rows, CPU seconds of this thread): the CPU time is far less disturbed by other
    processes on a busy machine than the wall time."""
    cpu = time.thread_time()
    batches = list_did_replicas(Issuer("root", is_admin=True), scope, name, schemes=schemes)
    rows = 0
    while True:
        item = _encode_next(batches, encode_text)
        if item is None:
            return rows, time.thread_time() - cpu
        rows += item[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--scope", default="bench")
    parser.add_argument("--name", default="dataset")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--schemes", default=None, help="comma-separated, e.g. https")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    db = Database(args.db)
    try:
        schemes = args.schemes.split(",") if args.schemes else None
        best = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rows, cpu = db.run_sync(consume, args.scope, args.name, schemes)
            elapsed = time.perf_counter() - t0
            best = cpu if best is None else min(best, cpu)
            print(f"{rows:,} rows in {elapsed:.3f} s = {rows / elapsed:,.0f} rows/s "
                  f"(CPU {cpu:.3f} s = {cpu / rows * 1e6:.2f} us/row)")
        print(f"best CPU: {best / rows * 1e6:.2f} us/row")
        if args.profile:
            profiler = cProfile.Profile()
            db.run_sync(lambda: profiler.runcall(consume, args.scope, args.name, schemes))
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    finally:
        db.close()


if __name__ == "__main__":
    main()
