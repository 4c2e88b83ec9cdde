"""Every figure of issue 15 in one command, each side by side with its baselines in the same run.

Runs, one after the other (never two at once: they would measure each other), and keeps each
one's whole output in ``--workdir``:

1. ``yardstick.py --db sqlite -n 200000 --gzip --search``: registration (files/s, RSS after the
   calls), the replica listing against the limit server of ``/work/shared/bench``, gzip on the
   wire and as rucio-clients reads it, the DID searches (name prefix, suffix, column and
   free-form metadata) against the limit;
2. the same on PostgreSQL (no searches: only SQLite's were slow);
3. with ``--large``: both listings again at 1,000,000 files;
4. ``bench_small_requests.py --real``: ``/ping`` and the authenticated point reads, ours (one
   process on SQLite, two on PostgreSQL) against the real Rucio 41.5.1 server with as many
   gunicorn workers (``real_rucio.py`` installs and starts it);

then prints every summary table. ``--baseline-ref REF`` adds that commit's server to each step.

    python tools/bench/issue15.py --baseline-ref main --bench-python /tmp/bench-venv/bin/python
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def steps(args):
    yard = [sys.executable, str(HERE / "yardstick.py"), "--bench-dir", args.bench_dir,
            "--bench-python", args.bench_python]
    small = [sys.executable, str(HERE / "bench_small_requests.py"), "--real",
             "--duration", str(args.duration), "--repeat", str(args.repeat)]
    base = ["--baseline-ref", args.baseline_ref] if args.baseline_ref else []
    sizes = [200_000] + ([1_000_000] if args.large else [])
    out = []
    for n in sizes:
        for db in ("sqlite", "postgresql"):
            extra = ["--gzip"] + (["--search"] if db == "sqlite" else []) if n == sizes[0] \
                else []
            out.append((f"listings-{db}-{n}",
                        yard + ["--db", db, "-n", str(n), "--workdir",
                                f"{args.workdir}/yard-{db}-{n}", *extra, *base]))
    out.append(("small-sqlite", small + ["--backend", "sqlite", "--processes", "1", *base]))
    out.append(("small-postgresql",
                small + ["--backend", "postgresql", "--processes", "2", *base]))
    return out


def summary(text):
    """The result tables of one step's output (from its first table on)."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("| ")), len(lines))
    return "\n".join(lines[first:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", help="also measure this commit in every step")
    parser.add_argument("--large", action="store_true", help="also 1,000,000-file listings")
    parser.add_argument("--only", help="comma-separated step names (see --list)")
    parser.add_argument("--list", action="store_true", help="print the steps and stop")
    parser.add_argument("--bench-dir", default="/work/shared/bench")
    parser.add_argument("--bench-python", default="/tmp/bench-venv/bin/python")
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=2, help="wrk runs per figure")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="rt-issue15-")
    chosen = steps(args)
    if args.list:
        print("\n".join(name for name, _ in chosen))
        return
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [(name, command) for name, command in chosen if name in wanted]
    os.makedirs(args.workdir, exist_ok=True)
    results = []
    for name, command in chosen:
        print(f"# {name}: load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
              flush=True)
        log = Path(args.workdir) / f"{name}.log"
        with open(log, "w") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, text=True)
        text = log.read_text()
        results.append((name, done.returncode, text))
        print(f"  exit {done.returncode}, output in {log}", flush=True)
    for name, code, text in results:
        print(f"\n## {name}" + ("" if code == 0 else f" (exit {code})") + f"\n\n{summary(text)}")


if __name__ == "__main__":
    main()
