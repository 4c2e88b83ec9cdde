"""Bulk-loader benchmark (not a test): ``rucio-tornado load`` of N generated files into one
dataset of a fresh server, through the REST API.

    python tools/bench/bench_loader.py --backend sqlite --files 1000000
    python tools/bench/bench_loader.py --backend postgresql --files 1000000 --parallel 2

Steps: write the file list (JSON lines: scope, name, bytes, adler32, rse, dataset); start
``rucio-tornado serve`` on a new database; create the scope and the RSE; run
``rucio-tornado load`` as a subprocess (its own progress bar and summary); check that the
dataset holds N files; print the time, rows/s and the load average.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_replicas import ROOT, Server, call, token, tornado_server  # noqa: E402

SCOPE, DATASET, RSE = "bench", "loaded", "BENCH-LOAD"


def write_list(path, count):
    with open(path, "w") as stream:
        for i in range(count):
            stream.write(json.dumps({"scope": SCOPE, "name": f"file_{i:08d}", "bytes": 1000 + i,
                                     "adler32": f"{(i * 2654435761) & 0xffffffff:08x}",
                                     "rse": RSE, "dataset": f"{SCOPE}:{DATASET}"}) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--files", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-loader-"))
    if args.backend == "postgresql":
        from rucio_tornado.testing import create_pg_database, drop_pg_database
        db_url = create_pg_database("rt_bench_loader")
    else:
        db_url = f"sqlite:///{workdir / 'bench.db'}"
    listing = workdir / "files.jsonl"
    started = time.monotonic()
    write_list(listing, args.files)
    print(f"file list: {args.files} rows, {listing.stat().st_size / 1e6:.0f} MB in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    server = Server(args, db_url, workdir, tornado_server(workdir))
    try:
        session = requests.Session()
        session.headers["X-Rucio-Auth-Token"] = token(server.url)
        call(session, "POST", f"{server.url}/accounts/root/scopes/{SCOPE}")
        call(session, "POST", f"{server.url}/rses/{RSE}", {})
        load_before = os.getloadavg()
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "rucio_tornado", "load", str(listing),
                        "--url", server.url, "--username", "ddmlab", "--password", "secret",
                        "--batch-size", str(args.batch_size), "--parallel", str(args.parallel)],
                       check=True, cwd=ROOT)
        seconds = time.monotonic() - started
        load_after = os.getloadavg()
        did = call(session, "GET", f"{server.url}/dids/{SCOPE}/{DATASET}?dynamic_depth=FILE")
        length = did.json()["length"]
        assert length == args.files, f"dataset holds {length} files, not {args.files}"
        print(f"| {args.backend} | {args.files:,} | {args.batch_size} | {args.parallel} | "
              f"{seconds:.1f} s | {args.files / seconds:,.0f} rows/s | "
              f"{load_before[0]:.1f} / {load_after[0]:.1f} | peak server RSS "
              f"{server.peak_rss_mb():.0f} MB |")
    finally:
        server.stop()
        if args.backend == "postgresql":
            drop_pg_database(db_url)


if __name__ == "__main__":
    main()
