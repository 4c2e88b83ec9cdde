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

from benchdb import ROOT, bench_files, fresh_database, timed, timed_cpu

from rucio_tornado.core.dids.catalog import add_did, attach_dids
from rucio_tornado.core.replicas.registration import add_replicas


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--files", type=int, default=500_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--profile", type=int, default=0, metavar="K")
    args = parser.parse_args()
    calls = -(-args.files // args.chunk)
    profile_call = calls if args.profile == -1 else args.profile
    files = bench_files(args.files)
    with fresh_database(args.backend) as db:
        for start in range(0, len(files), args.chunk):
            part = files[start:start + args.chunk]
            elapsed = db.run_sync(timed, add_replicas, ROOT, "BENCH-MOCK", part)
            print(f"{args.backend}: registered {len(part):,} files in {elapsed:.2f} s = "
                  f"{len(part) / elapsed:,.0f} files/s (scope now {start + len(part):,})",
                  flush=True)
        db.run_sync(add_did, ROOT, "bench", "dataset", "DATASET")
        for call, start in enumerate(range(0, len(files), args.chunk), 1):
            part = files[start:start + args.chunk]
            profiler = cProfile.Profile() if call == profile_call else None
            elapsed, cpu = db.run_sync(timed_cpu, attach_dids, ROOT, "bench", "dataset", part,
                                       profiler=profiler)
            print(f"{args.backend}: call {call}: {len(part):,} files in {elapsed:.2f} s = "
                  f"{len(part) / elapsed:,.0f} files/s, thread CPU {cpu:.2f} s (dataset now "
                  f"{start + len(part):,})", flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
