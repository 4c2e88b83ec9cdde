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


def consume(scope, name):
    batches = list_did_replicas(Issuer("root", is_admin=True), scope, name)
    rows = 0
    while True:
        chunk = _encode_next(batches, encode_text)
        if chunk is None:
            return rows
        rows += chunk.count(b"\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--scope", default="bench")
    parser.add_argument("--name", default="dataset")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    db = Database(args.db)
    try:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rows = db.run_sync(consume, args.scope, args.name)
            elapsed = time.perf_counter() - t0
            print(f"{rows:,} rows in {elapsed:.3f} s = {rows / elapsed:,.0f} rows/s")
        if args.profile:
            profiler = cProfile.Profile()
            db.run_sync(lambda: profiler.runcall(consume, args.scope, args.name))
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    finally:
        db.close()


if __name__ == "__main__":
    main()
