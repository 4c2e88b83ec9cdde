"""The database's own share of a bulk registration: the rows of N files written with nothing
else (benchmark, not a test).

``POST /replicas`` of N new files writes N ``did`` rows and N ``replica`` rows; attaching them
writes N ``content`` rows. Here those rows are built in advance and written, on a fresh schema,
with the server's own bulk writer (``Database.insert_rows``: ``COPY`` on PostgreSQL, multi-row
``INSERT`` on SQLite) in one transaction per table set, as the API calls do. No HTTP, no JSON,
no checks: files/s here bounds what any server with this schema reaches on this machine.

    python tools/bench/write_floor.py --backend postgresql --files 100000 --repeat 3
"""
import argparse
import os
import statistics
import time

from benchdb import fresh_database

from rucio_tornado.core.bulk import insert_rows
from rucio_tornado.models import DID, RSE, Content, Replica


def write(db, model, columns, rows):
    def work():
        with db.peewee.atomic():
            insert_rows(model, columns, rows)
    t0, c0 = time.perf_counter(), time.process_time()
    db.run_sync(work)
    return time.perf_counter() - t0, time.process_time() - c0


def one_round(db, files, offset):
    scope, rse_id = "bench", db.run_sync(lambda: RSE.get(RSE.rse == "BENCH-MOCK").id)
    names = [f"bench.{offset + i:09d}.pool.root.1" for i in range(files)]
    dataset = f"bench.dataset.{offset}"
    db.run_sync(lambda: DID.create(scope=scope, name=dataset, did_type="DATASET",
                                   account="root"))
    dids = [(scope, n, "FILE", "root", 1234567, "0a1b2c3d", "0123456789abcdef0123456789abcdef")
            for n in names]
    replicas = [(rse_id, scope, n, 1234567, "0123456789abcdef0123456789abcdef", "0a1b2c3d",
                 None, "AVAILABLE") for n in names]
    contents = [(scope, dataset, scope, n, "DATASET", "FILE", 1234567, "0a1b2c3d",
                 "0123456789abcdef0123456789abcdef") for n in names]
    did_s = write(db, DID, ["scope", "name", "did_type", "account", "bytes", "adler32", "md5"],
                  dids)
    replica_s = write(db, Replica, ["rse_id", "scope", "name", "bytes", "md5", "adler32",
                                    "path", "state"], replicas)
    content_s = write(db, Content, ["scope", "name", "child_scope", "child_name", "did_type",
                                    "child_type", "bytes", "adler32", "md5"], contents)
    return did_s, replica_s, content_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="calls of --files, one after another")
    args = parser.parse_args()
    with fresh_database(args.backend) as db:
        print(f"# {args.backend}, {args.files:,} files x {args.repeat}, load average "
              f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        registered, attached = [], []
        for round_ in range(args.repeat):
            (did_wall, did_cpu), (rep_wall, rep_cpu), (con_wall, con_cpu) = one_round(
                db, args.files, round_ * args.files)
            registered.append(args.files / (did_wall + rep_wall))
            attached.append(args.files / con_wall)
            print(f"call {round_ + 1}: did {did_wall:.2f} s (client CPU {did_cpu:.2f}), replica "
                  f"{rep_wall:.2f} s ({rep_cpu:.2f}), content {con_wall:.2f} s ({con_cpu:.2f}): "
                  f"registration rows alone {registered[-1]:,.0f} files/s, attachment rows "
                  f"alone {attached[-1]:,.0f} files/s", flush=True)
        print(f"median: registration {statistics.median(registered):,.0f} files/s, attachment "
              f"{statistics.median(attached):,.0f} files/s (rows only; the API also parses, "
              f"checks and reads back)")


if __name__ == "__main__":
    main()
