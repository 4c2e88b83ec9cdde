"""``rucio-tornado load FILE``: register files with replicas from a file list, in bulk calls to a
running server's REST API, with a progress bar, resumable after an interruption.

Input: CSV (a header row) or JSON lines, one file per row, with ``scope``, ``name``, ``bytes``,
``adler32`` and/or ``md5``, ``rse``, and optional ``pfn``, ``dataset`` (``scope:name``, or a
name in the file's scope) and ``meta`` (a JSON object; in CSV, any other column is a metadata
key too). Each batch of rows is sent as

- ``POST /dids/attachments`` with ``ignore_duplicate`` for rows with a dataset (the server
  registers the replicas on ``rse`` and attaches the files, in one transaction), the datasets
  being created first (``POST /dids/{scope}/{name}``) when missing;
- ``POST /replicas`` for rows without one.

Both are idempotent on the server: a batch sent again (after an interruption) registers nothing
twice. The checkpoint file (``FILE.checkpoint`` unless ``--checkpoint``) records how many rows
of the input were acknowledged, in order; the same command run again goes on from there.
"""
import configparser
import csv
import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import requests

FILE_KEYS = ("scope", "name", "bytes", "adler32", "md5", "pfn")
KNOWN_KEYS = set(FILE_KEYS) | {"rse", "dataset", "meta", "metadata"}
RETRIES = 5


class LoadError(Exception):
    """A reason the load stops (bad input, a refused batch, the server unreachable)."""


# -- input ----------------------------------------------------------------------------------------
def read_rows(path):
    """Yield ``(line number, raw dict)`` from a CSV or JSON-lines file."""
    with open(path, newline="", encoding="utf-8") as stream:
        if is_json_lines(path):
            for number, line in enumerate(stream, 1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except ValueError as exc:
                        raise LoadError(f"{path}:{number}: not JSON: {exc}") from None
        else:
            reader = csv.DictReader(stream)
            for row in reader:
                yield reader.line_num, row


def parse_row(raw, where):
    """A raw row as ``(rse, dataset key or None, file item)``; LoadError names what is wrong."""
    if not isinstance(raw, dict):
        raise LoadError(f"{where}: a row must be an object")
    values = {key: value for key, value in raw.items() if value not in (None, "")}
    meta = values.get("meta", values.get("metadata")) or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            raise LoadError(f"{where}: meta must be a JSON object") from None
    if not isinstance(meta, dict):
        raise LoadError(f"{where}: meta must be a JSON object")
    meta = dict(meta, **{key: value for key, value in values.items() if key not in KNOWN_KEYS})
    for key in ("scope", "name", "rse"):
        if not isinstance(values.get(key), str):
            raise LoadError(f"{where}: '{key}' is missing")
    try:
        size = int(values.get("bytes"))
    except (TypeError, ValueError):
        raise LoadError(f"{where}: 'bytes' must be an integer") from None
    if "adler32" not in values and "md5" not in values:
        raise LoadError(f"{where}: an adler32 or md5 checksum is needed")
    item = {key: values[key] for key in FILE_KEYS if key in values}
    item["bytes"] = size
    if meta:
        item["meta"] = meta
    dataset = values.get("dataset")
    if dataset is not None:
        scope, _, name = str(dataset).rpartition(":")
        dataset = (scope or item["scope"], name)
    return values["rse"], dataset, item


# -- the server -----------------------------------------------------------------------------------
class Client:
    """The few REST calls of the loader, authenticated as the real client does (userpass
    ``/auth/userpass``, or a given token), retrying lost connections and expired tokens."""

    def __init__(self, url, account=None, username=None, password=None, token=None,
                 ca_cert=None, timeout=600):
        if not url:
            raise LoadError("no server URL: give --url or a RUCIO_CONFIG with rucio_host")
        if not token and not (username and password):
            raise LoadError("no credentials: give --username and --password, or --token")
        self.url = url.rstrip("/")
        self.account, self.username, self.password = account, username, password
        self.token, self.timeout = token, timeout
        self.verify = ca_cert or True
        self.http = requests.Session()

    @classmethod
    def from_options(cls, url=None, account=None, username=None, password=None, token=None,
                     ca_cert=None):
        """Options given on the command line, the rest from ``RUCIO_CONFIG``'s ``[client]``."""
        cfg = {}
        path = os.environ.get("RUCIO_CONFIG")
        if path and Path(path).is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(path)
            cfg = dict(parser.items("client")) if parser.has_section("client") else {}
        return cls(url or cfg.get("rucio_host"), account or cfg.get("account"),
                   username or cfg.get("username"), password or cfg.get("password"),
                   token, ca_cert or cfg.get("ca_cert"))

    def authenticate(self):
        headers = {"X-Rucio-Username": self.username, "X-Rucio-Password": self.password}
        if self.account:
            headers["X-Rucio-Account"] = self.account
        answer = self._send("GET", "/auth/userpass", headers=headers, authenticated=False)
        self.token = answer.headers["X-Rucio-Auth-Token"]

    def request(self, method, path, body=None, accept=()):
        """Send; return the response when its status is 2xx or in ``accept`` (e.g. 409)."""
        if not self.token:
            self.authenticate()
        data = json.dumps(body) if body is not None else None
        for attempt in range(2):
            answer = self._send(method, path, data=data,
                                headers={"X-Rucio-Auth-Token": self.token})
            if answer.status_code == 401 and attempt == 0 and self.password:
                self.authenticate()           # the token expired during a long load
                continue
            break
        if answer.ok or answer.status_code in accept:
            return answer
        raise LoadError(f"{method} {path}: {answer.status_code} {_rucio_error(answer)}")

    def _send(self, method, path, authenticated=True, **kwargs):
        for attempt in range(RETRIES):
            try:
                answer = self.http.request(method, self.url + path, timeout=self.timeout,
                                           verify=self.verify, **kwargs)
            except requests.ConnectionError as exc:
                problem = f"cannot reach {self.url}: {exc.__class__.__name__}"
            else:
                if answer.status_code not in (502, 503, 504):
                    if not authenticated and not answer.ok:
                        raise LoadError(f"login failed: {answer.status_code} "
                                        f"{_rucio_error(answer)}")
                    return answer
                problem = f"{method} {path}: {answer.status_code} {_rucio_error(answer)}"
            time.sleep(min(2 ** attempt, 10))
        raise LoadError(problem)


def _rucio_error(answer):
    return ": ".join(filter(None, (answer.headers.get("ExceptionClass"),
                                   answer.headers.get("ExceptionMessage")))) or answer.text[:200]


# -- checkpoints ----------------------------------------------------------------------------------
class Checkpoint:
    """The number of leading input rows the server acknowledged, kept in a small JSON file
    (replaced atomically after every acknowledged batch)."""

    def __init__(self, path, source):
        self.path, self.source = Path(path), str(Path(source).resolve())
        self.rows = 0
        if self.path.exists():
            state = json.loads(self.path.read_text())
            if state.get("source") != self.source:
                raise LoadError(f"checkpoint {self.path} belongs to {state.get('source')}: "
                                f"remove it or give another --checkpoint")
            self.rows = int(state["rows"])

    def save(self, rows):
        self.rows = rows
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({"source": self.source, "rows": rows,
                                         "saved_at": time.time()}))
        os.replace(temporary, self.path)


# -- the load -------------------------------------------------------------------------------------
@dataclass
class Summary:
    rows: int = 0                 # rows of the input
    skipped: int = 0              # already acknowledged by an earlier run (checkpoint)
    sent: int = 0                 # acknowledged in this run
    batches: int = 0
    datasets_created: list = field(default_factory=list)
    seconds: float = 0.0

    def text(self):
        rate = self.sent / self.seconds if self.seconds else 0.0
        created = ", ".join(f"{s}:{n}" for s, n in self.datasets_created) or "none"
        return (f"loaded {self.sent} rows in {self.batches} batches in {self.seconds:.1f} s "
                f"({rate:,.0f} rows/s); {self.skipped} rows done by an earlier run; "
                f"{self.skipped + self.sent} of {self.rows} rows acknowledged; "
                f"datasets created: {created}")


class Loader:
    def __init__(self, client, batch_size=5000, parallel=1, progress=True):
        self.client, self.batch_size = client, batch_size
        self.parallel, self.progress = max(1, parallel), progress
        self.datasets = set()
        self.summary = Summary()

    def batches(self, path, skip):
        """Yield ``(rows after the batch, parsed rows)``, skipping the first ``skip`` rows."""
        batch, count = [], 0
        for number, raw in read_rows(path):
            count += 1
            if count <= skip:
                continue
            batch.append(parse_row(raw, f"{path}:{number or count + 1}"))
            if len(batch) >= self.batch_size:
                yield count, batch
                batch = []
        if batch:
            yield count, batch

    def ensure_datasets(self, batch):
        for _, dataset, _ in batch:
            if dataset is not None and dataset not in self.datasets:
                scope, name = dataset
                answer = self.client.request("POST", f"/dids/{_q(scope)}/{_q(name)}",
                                             {"type": "DATASET"}, accept=(409,))
                if answer.status_code == 201:
                    self.summary.datasets_created.append(dataset)
                elif answer.headers.get("ExceptionClass") != "DataIdentifierAlreadyExists":
                    raise LoadError(f"dataset {scope}:{name}: {_rucio_error(answer)}")
                self.datasets.add(dataset)

    def send(self, batch):
        """Register one batch: one call for the rows with datasets, one for the others."""
        attachments, loose = {}, {}
        for rse, dataset, item in batch:
            if dataset is None:
                loose.setdefault(rse, []).append(item)
            else:
                attachments.setdefault((dataset, rse), []).append(item)
        if attachments:
            self.client.request("POST", "/dids/attachments", {
                "ignore_duplicate": True,
                "attachments": [{"scope": scope, "name": name, "rse": rse, "dids": files}
                                for ((scope, name), rse), files in attachments.items()]})
        for rse, files in loose.items():
            self.client.request("POST", "/replicas", {"rse": rse, "files": files})
        return len(batch)

    def run(self, path, checkpoint):
        """Load ``path`` from ``checkpoint.rows`` on; the Summary (also on an interruption,
        as ``self.summary``; the checkpoint then says where to go on)."""
        from tqdm import tqdm
        started = time.monotonic()
        summary = self.summary
        summary.rows = count_rows(path)
        summary.skipped = min(checkpoint.rows, summary.rows)
        bar = tqdm(total=summary.rows, initial=summary.skipped, unit="rows", unit_scale=True,
                   dynamic_ncols=True, file=sys.stderr, disable=None if self.progress else True)
        self.acknowledged = summary.skipped
        pending, done = {}, {}
        pool = ThreadPoolExecutor(self.parallel)
        try:
            for end, batch in self.batches(path, summary.skipped):
                self.ensure_datasets(batch)
                pending[pool.submit(self.send, batch)] = end
                while len(pending) >= self.parallel * 2:
                    self._collect(pending, done, checkpoint, bar)
            while pending:
                self._collect(pending, done, checkpoint, bar)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            summary.sent = self.acknowledged - summary.skipped
            summary.seconds = time.monotonic() - started
        return summary

    def _collect(self, pending, done, checkpoint, bar):
        """Wait for a batch; move the checkpoint over every batch acknowledged in order."""
        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in finished:
            end = pending.pop(future)
            done[end] = future.result()          # raises the batch's LoadError
            self.summary.batches += 1
        for end in sorted(done):
            if end - done[end] != self.acknowledged:
                break
            bar.update(done.pop(end))
            self.acknowledged = end
        checkpoint.save(self.acknowledged)


def count_rows(path):
    """Rows in the input (lines, less a CSV's header; blank JSON lines are not rows)."""
    with open(path, "rb") as stream:
        lines = sum(1 for line in stream if line.strip())
    return lines if is_json_lines(path) else max(lines - 1, 0)


def is_json_lines(path):
    """JSON lines by the name (``.jsonl``, ``.ndjson``, ``.json``) or a first ``{``; else CSV."""
    with open(path, "rb") as stream:
        return stream.read(1) == b"{" or Path(path).suffix in (".jsonl", ".ndjson", ".json")


def _q(part):
    from urllib.parse import quote
    return quote(part, safe="")


def main(args):
    """The ``load`` command: 0 done, 1 stopped (resumable), 130 interrupted."""
    checkpoint_path = args.checkpoint or args.file + ".checkpoint"
    loader = None
    resume = f"checkpoint: {checkpoint_path}: run the same command again to go on"
    try:
        if not Path(args.file).is_file():
            raise LoadError(f"no such file: {args.file}")
        if args.restart and Path(checkpoint_path).exists():
            Path(checkpoint_path).unlink()
        checkpoint = Checkpoint(checkpoint_path, args.file)
        client = Client.from_options(args.url, args.account, args.username, args.password,
                                     args.token, args.ca_cert)
        loader = Loader(client, args.batch_size, args.parallel, not args.no_progress)
        summary = loader.run(args.file, checkpoint)
    except LoadError as exc:
        print(f"rucio-tornado load: {exc}", file=sys.stderr)
        if loader is not None:
            print(f"{loader.summary.text()}\n{resume}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted" + (f": {loader.summary.text()}\n{resume}" if loader else ""),
              file=sys.stderr)
        return 130
    print(summary.text())
    return 0


def add_arguments(parser):
    parser.add_argument("file", help="CSV (with a header) or JSON lines, one file per row")
    parser.add_argument("--url", help="the server (default: rucio_host of RUCIO_CONFIG)")
    parser.add_argument("--account")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--token", help="an auth token instead of username/password")
    parser.add_argument("--ca-cert", dest="ca_cert", help="CA bundle for https")
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=5000,
                        help="rows per request (default 5000)")
    parser.add_argument("--parallel", type=int, default=1, help="requests in flight")
    parser.add_argument("--checkpoint", help="default: FILE.checkpoint")
    parser.add_argument("--restart", action="store_true",
                        help="forget the checkpoint and send every row again")
    parser.add_argument("--no-progress", dest="no_progress", action="store_true")
