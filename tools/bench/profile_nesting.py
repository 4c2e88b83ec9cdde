"""Time one ``POST /dids/attachments``-sized call of N nested attachments, in-process (the
workflow the handler calls, no HTTP), on a fresh database, for three shapes:

- ``fan``: N containers into one container, as one attachment;
- ``many``: N attachments ``{parent: [container i]}`` into one parent;
- ``chain``: N attachments ``{c_i: [c_i+1]}``, a chain N deep built in one call (each
  attachment's cycle check and rule reactions walk the chain above it).

    python tools/bench/profile_nesting.py --backend sqlite|postgresql [--count 1000]
        [--shape chain] [--profile]
"""
import argparse
import cProfile
import pstats

from benchdb import ROOT, fresh_database, timed_cpu

from rucio_tornado.core.dids.catalog import add_dids
from rucio_tornado.core.workflows import attach_dids_to_dids

SHAPES = ("fan", "many", "chain")


def _attachments(shape, count):
    names = [f"c{i:05d}" for i in range(count)]
    if shape == "fan":
        return [{"scope": "bench", "name": "top",
                 "dids": [{"scope": "bench", "name": n} for n in names]}]
    if shape == "many":
        return [{"scope": "bench", "name": "top", "dids": [{"scope": "bench", "name": n}]}
                for n in names]
    chain = ["top"] + names
    return [{"scope": "bench", "name": parent, "dids": [{"scope": "bench", "name": child}]}
            for parent, child in zip(chain, chain[1:])]


def run(backend, shape, count, profile):
    with fresh_database(backend) as db:
        db.run_sync(add_dids, ROOT, [{"scope": "bench", "name": n, "type": "CONTAINER"}
                                     for n in ["top"] + [f"c{i:05d}" for i in range(count)]])
        profiler = cProfile.Profile() if profile else None
        wall, cpu = db.run_sync(timed_cpu, attach_dids_to_dids, ROOT,
                                _attachments(shape, count), profiler=profiler)
        print(f"{backend} {shape} {count}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--shape", choices=SHAPES + ("all",), default="all")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for shape in SHAPES if args.shape == "all" else (args.shape,):
        run(args.backend, shape, args.count, args.profile)


if __name__ == "__main__":
    main()
