"""Profile one ``add_replicas`` call of N new files in-process (no HTTP), on a fresh database.

    python tools/bench/profile_register.py --backend sqlite --files 100000 [--profile]
    python tools/bench/profile_register.py --backend postgresql --files 100000 [--profile]

Prints files/s of the core call (validation, checks, inserts, the REPLICAS_AVAILABLE hook)
inside ``db.run_sync``; with ``--profile``, the top of a cProfile of that call.
"""
import argparse
import cProfile
import pstats

from benchdb import ROOT, bench_files, fresh_database, timed_cpu

from rucio_tornado.core.replicas.registration import add_replicas


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    files = bench_files(args.files)
    profiler = cProfile.Profile() if args.profile else None
    with fresh_database(args.backend) as db:
        elapsed, cpu = db.run_sync(timed_cpu, add_replicas, ROOT, "BENCH-MOCK", files,
                                   profiler=profiler)
    print(f"{args.backend}: {args.files:,} files in {elapsed:.2f} s = "
          f"{args.files / elapsed:,.0f} files/s (thread CPU {cpu:.2f} s = "
          f"{args.files / cpu:,.0f} files per CPU second)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
