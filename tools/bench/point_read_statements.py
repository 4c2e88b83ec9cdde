"""PostgreSQL alone: what one authenticated point read costs in statements (issue 15 item 3).

    python tools/bench/point_read_statements.py [--count 3000]

On a fresh database (``benchdb.fresh_database``) with account root and a dataset, times with
psycopg2 alone, over loopback, the token's account check and the DID read as the server sends
them (the compiled statements' SQL): each alone, both one after the other, joined in one
statement as ``compiled.riding`` joins them; then the same as prepared statements
(``PREPARE`` once, ``EXECUTE``), as the IOLoop's connection runs them (``db._prepare``).
Prints µs of wall time and of this process's CPU per statement or pair.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import fresh_database  # noqa: E402

from rucio_tornado.core import lookup  # noqa: E402
from rucio_tornado.core.auth import resolve  # noqa: E402
from rucio_tornado.db import _prepare  # noqa: E402
from rucio_tornado.models import DID  # noqa: E402


def statements(db):
    """``{label: (sql, params)}``: the account check, the DID read, the two joined."""
    def compile_all():
        check, did = resolve._ACCOUNT_STATUS, lookup._DID
        out = {}
        for label, statement, args in (("account check", check, ("root",)),
                                       ("DID read", did, ("bench", "dataset"))):
            sql, layout, _, _ = statement._compiled()
            out[label] = (sql, statement._params(layout, args))
        joined = (f"SELECT rr.*, tt.* FROM ({out['account check'][0]}) rr LEFT JOIN "
                  f"(SELECT 1 AS rt_found, q.* FROM ({out['DID read'][0]}) q) tt ON 1 = 1")
        out["joined"] = (joined, out["account check"][1] + out["DID read"][1])
        return out
    return db.run_sync(compile_all)


def measure(label, run, count):
    for _ in range(200):
        run()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"| {label} | {wall / count * 1e6:.0f} | {cpu / count * 1e6:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    with fresh_database("postgresql") as db:
        db.run_sync(lambda: DID.create(scope="bench", name="dataset", did_type="DATASET",
                                       account="root"))
        texts = statements(db)
        conn = db._loop_connect()
        cursor = conn.cursor()

        def run(statement):
            cursor.execute(*statement)
            cursor.fetchall()

        print("| statements | µs wall | µs CPU (client) |\n|---|---:|---:|")
        for prepared in (False, True):
            if prepared:
                cache = {}
                texts = {label: (_prepare(cursor, sql, cache), params)
                         for label, (sql, params) in texts.items()}
            kind = "prepared " if prepared else ""
            check, did, joined = texts["account check"], texts["DID read"], texts["joined"]
            for label, group in (("account check", [check]), ("DID read", [did]),
                                 ("both, one after the other", [check, did]),
                                 ("both joined in one statement", [joined])):
                measure(kind + label, lambda group=group: [run(s) for s in group], args.count)
        conn.close()


if __name__ == "__main__":
    main()
