"""Time (and optionally profile) DID searches of a loaded database in-process (no HTTP).

    python tools/bench/profile_search.py --db sqlite:///DIR/bench.sqlite [--search prefix]
        [--repeat 3] [--profile] [--add-meta]
    python tools/bench/profile_search.py --db postgresql://postgres@127.0.0.1:5432/NAME

Uses a database loaded through the API (``/work/shared/bench/api_load.py`` or
``bench_replicas.py --keep``): runs ``core.dids.search.search`` inside the DB executor as
``GET /dids/{scope}/dids/search?type=file&long=True&filters=...`` does, and encodes each batch
like the handler (``web.streaming._encode_next``); prints rows/s per search and, with
``--profile``, a cProfile top. The searches (``--search``, default all; each must match every
file of the scope, so that their row counts compare with the files listing):

- ``prefix``:  ``[{'name': '<scope>.*'}]``
- ``suffix``:  ``[{'name': '*.1'}]``
- ``column``:  ``[{'name': '<scope>.*', 'project': 'bench'}]`` (a metadata column)
- ``meta``:    ``[{'stage': 'raw'}]`` (free-form metadata: an ``EXISTS`` on ``did_meta``)

The ``column`` and ``meta`` searches need ``--add-meta`` once: it sets ``project = 'bench'``
on every file of the scope and a ``stage = "raw"`` metadata row for each (it changes the
database: use a copy you can spare). Under callgrind, run one search once:
``valgrind --tool=callgrind python tools/bench/profile_search.py --db ... --search prefix
--repeat 1 --no-warm``.
"""
import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rucio_tornado.core.dids.search import search  # noqa: E402
from rucio_tornado.core.permissions import Issuer  # noqa: E402
from rucio_tornado.db import Database  # noqa: E402
from rucio_tornado.models import DID, DIDMeta  # noqa: E402
from rucio_tornado.web.streaming import _encode_next  # noqa: E402

SEARCHES = {
    "prefix": lambda scope: [{"name": scope + ".*"}],
    "suffix": lambda scope: [{"name": "*.1"}],
    "column": lambda scope: [{"name": scope + ".*", "project": "bench"}],
    "meta": lambda scope: [{"stage": "raw"}],
}


def consume(scope, filters, long=True):
    batches = search(Issuer("root", is_admin=True), scope, filters, did_type="file", long=long)
    rows = 0
    while True:
        chunk = _encode_next(batches)
        if chunk is None:
            return rows
        rows += chunk.count(b"\n")


def add_meta(scope):
    """``project = 'bench'`` and a ``stage`` metadata row for every file of ``scope``."""
    files = (DID.scope == scope) & (DID.did_type == "FILE")
    DID.update(project="bench").where(files).execute()
    DIDMeta.delete().where((DIDMeta.scope == scope) & (DIDMeta.key == "stage")).execute()
    DIDMeta.insert_from(
        DID.select(DID.scope, DID.name, "stage", '"raw"', None, DID.created_at,
                   DID.updated_at).where(files),
        [DIDMeta.scope, DIDMeta.name, DIDMeta.key, DIDMeta.value, DIDMeta.number,
         DIDMeta.created_at, DIDMeta.updated_at]).execute()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--scope", default="user.bench")
    parser.add_argument("--search", choices=sorted(SEARCHES), action="append",
                        help="repeatable; default: prefix and suffix (all four with --add-meta)")
    parser.add_argument("--short", action="store_true", help="names only (long=False)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-warm", action="store_true", help="no unmeasured first run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--add-meta", action="store_true")
    args = parser.parse_args()
    db = Database(args.db)
    try:
        if args.add_meta:
            t0 = time.perf_counter()
            db.run_sync(lambda: db.peewee.atomic()(add_meta)(args.scope))
            print(f"metadata added in {time.perf_counter() - t0:.1f} s")
        kinds = args.search or (sorted(SEARCHES) if args.add_meta else ["prefix", "suffix"])
        for kind in kinds:
            filters = SEARCHES[kind](args.scope)
            if not args.no_warm:
                db.run_sync(consume, args.scope, filters, not args.short)
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                rows = db.run_sync(consume, args.scope, filters, not args.short)
                elapsed = time.perf_counter() - t0
                print(f"{kind:7s} {filters}: {rows:,} rows in {elapsed:.3f} s = "
                      f"{rows / elapsed:,.0f} rows/s")
            if args.profile:
                profiler = cProfile.Profile()
                db.run_sync(profiler.runcall, consume, args.scope, filters, not args.short)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    finally:
        db.close()


if __name__ == "__main__":
    main()
