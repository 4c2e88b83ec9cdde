"""``rucio-tornado load``: a live server, a few thousand rows, an interruption, a resume."""
import csv
import json
import subprocess
import sys

import pytest

from rucio_tornado.cli import build_parser
from rucio_tornado.tools import loader

ROWS = 3000


def write_jsonl(path, rows, dataset, rse, scope="loadtest", start=0):
    with open(path, "w") as stream:
        for i in range(start, start + rows):
            stream.write(json.dumps({"scope": scope, "name": f"file_{i:06d}", "bytes": 1000 + i,
                                     "adler32": f"{i + 1:08x}", "rse": rse,
                                     "dataset": f"{scope}:{dataset}",
                                     "meta": {"run": i % 7}}) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def catalog(live):
    client = live.client()
    client.add_scope("root", "loadtest")
    client.add_rse("LOAD-DISK")
    return client


def args(live, path, *extra):
    return build_parser().parse_args(["load", path, "--url", live.url, "--username", "ddmlab",
                                      "--password", "secret", "--no-progress", *extra])


def interrupt_after(calls):
    """A ``Client.request`` that lets ``calls`` attachment calls through, then sends one more
    that the server answers, and interrupts the loader before it can record it (a kill at the
    worst moment: the server registered the batch, the checkpoint does not know)."""
    real, left = loader.Client.request, [calls]

    def request(client, method, path, body=None, accept=()):
        answer = real(client, method, path, body, accept)
        if path == "/dids/attachments":
            left[0] -= 1
            if left[0] < 0:
                raise KeyboardInterrupt
        return answer
    return request


def test_load_interrupted_and_resumed_registers_every_file_once(live, catalog, tmp_path,
                                                                monkeypatch, capsys):
    path = write_jsonl(tmp_path / "files.jsonl", ROWS, "ds_resume", "LOAD-DISK")
    monkeypatch.setattr(loader.Client, "request", interrupt_after(3))
    assert loader.main(args(live, path, "--batch-size", "500")) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "run the same command again" in err
    state = json.loads((tmp_path / "files.jsonl.checkpoint").read_text())
    assert state["rows"] == 1500           # three batches acknowledged; the fourth was sent

    monkeypatch.undo()
    assert loader.main(args(live, path, "--batch-size", "500", "--parallel", "2")) == 0
    out = capsys.readouterr().out
    assert "loaded 1500 rows" in out and "1500 rows done by an earlier run" in out
    assert f"{ROWS} of {ROWS} rows acknowledged" in out

    files = list(catalog.list_files("loadtest", "ds_resume"))
    names = [f["name"] for f in files]
    assert len(names) == ROWS and len(set(names)) == ROWS
    assert sorted(names) == [f"file_{i:06d}" for i in range(ROWS)]
    assert catalog.get_did("loadtest", "ds_resume", dynamic_depth="FILE")["length"] == ROWS
    replicas = list(catalog.list_replicas([{"scope": "loadtest", "name": "ds_resume"}],
                                          all_states=True))
    assert len(replicas) == ROWS
    assert all(r["states"] == {"LOAD-DISK": "AVAILABLE"} for r in replicas)
    assert catalog.get_metadata("loadtest", "file_000010", plugin="ALL")["run"] == 3

    # a run again from the start (--restart) re-sends every batch: still each file once
    assert loader.main(args(live, path, "--restart")) == 0
    assert len(list(catalog.list_files("loadtest", "ds_resume"))) == ROWS


def test_load_command_csv_with_summary(live, catalog, tmp_path):
    path = tmp_path / "files.csv"
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["scope", "name", "bytes", "md5", "rse", "dataset", "campaign"])
        for i in range(250):
            writer.writerow(["loadtest", f"csv_{i:04d}", 10 + i, f"{i:032x}", "LOAD-DISK",
                             "ds_csv", "mc23"])
    result = subprocess.run(
        [sys.executable, "-m", "rucio_tornado", "load", str(path), "--url", live.url,
         "--username", "ddmlab", "--password", "secret", "--batch-size", "100"],
        capture_output=True, text=True, env=live.env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "loaded 250 rows in 3 batches" in result.stdout
    assert "datasets created: loadtest:ds_csv" in result.stdout
    assert len(list(catalog.list_files("loadtest", "ds_csv"))) == 250
    assert catalog.get_metadata("loadtest", "csv_0003", plugin="ALL")["campaign"] == "mc23"


def test_load_stops_cleanly_on_bad_input_and_refused_batches(live, catalog, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"scope": "loadtest", "name": "x", "bytes": "many", "adler32": "01",'
                    ' "rse": "LOAD-DISK"}\n')
    assert loader.main(args(live, str(path))) == 1
    assert "bad.jsonl:1: 'bytes' must be an integer" in capsys.readouterr().err
    path = write_jsonl(tmp_path / "norse.jsonl", 10, "ds_x", "NO-SUCH-RSE")
    assert loader.main(args(live, path)) == 1
    err = capsys.readouterr().err
    assert "RSENotFound" in err and "run the same command again" in err
    assert loader.main(args(live, path, "--password", "wrong")) == 1
    assert "login failed: 401" in capsys.readouterr().err
