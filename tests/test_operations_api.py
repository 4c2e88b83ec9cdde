"""VOs, heartbeats and traces: handler-level (both databases) and live with the real clients."""
import re

import pytest
import requests
import ujson

from rucio_tornado import config, daemon, metrics
from rucio_tornado.core import traces
from rucio_tornado.models import Heartbeat, Trace
from tests.conftest import count_rows
from tests.test_config import accounts

SINGLE_VO = "VO operations cannot be performed in single VO mode."
#: What ``rucio upload`` sends for one file (uploadclient.py: self.trace + the file's fields).
UPLOAD_TRACE = {"hostname": "ui.example.org", "account": "root", "eventType": "upload",
                "eventVersion": "41.5.1", "vo": None, "uuid": "3c9d8ef5a2b94b6f8e0d1c2b3a4f5e6d",
                "scope": "mock", "datasetScope": "", "dataset": "", "remoteSite": "SITE-A",
                "filesize": 10, "transferStart": 1764580000.1, "protocol": "file",
                "transferEnd": 1764580000.2, "clientState": "DONE", "filename": "f1",
                "stateReason": None}


def traces_total(kind):
    return metrics.TRACES.labels(kind)._value.get()


# -- VOs ----------------------------------------------------------------------------------------
@pytest.mark.gen_test
async def test_vos_answer_as_single_vo(api, db):
    await accounts(api)
    for method, path, body in (("GET", "/vos/", None), ("GET", "/vos", None),
                               ("POST", "/vos/abc", {"description": "d"}),
                               ("POST", "/vos/abc", None),
                               ("PUT", "/vos/abc", {"email": "a@b.c"}),
                               ("POST", "/vos/abc/recover", {"identity": "i", "authtype": "USERPASS",
                                                             "email": "a@b.c"})):
        for caller, expected in ((api, (409, "UnsupportedOperation")),
                                 (api.as_("carol"), (409, "UnsupportedOperation")),
                                 (api.as_("jdoe"), (401, "AccessDenied"))):
            response = await caller.request(method, path, body)
            assert (response.status, response.exception_class) == expected, (method, path)
    response = await api.get("/vos/")
    assert response.json()["ExceptionMessage"] == SINGLE_VO


@pytest.mark.gen_test
@pytest.mark.parametrize("method, path, raw, name", [
    ("PUT", "/vos/abc", "", "ValueError"),
    ("PUT", "/vos/abc", "{x", "ValueError"),
    ("POST", "/vos/abc", "[]", "TypeError"),
    ("POST", "/vos/abc", '{"email": 5}', "TypeError"),
    ("POST", "/vos/abc/recover", '{"authtype": "USERPASS", "email": "e"}', "KeyError"),
    ("POST", "/vos/abc/recover", '{"identity": "i", "authtype": "X", "email": "e", '
                                 '"default": "maybe"}', "InvalidObject"),
])
async def test_vos_bad_input(api, db, method, path, raw, name):
    response = await api.request(method, path, raw_body=raw)
    assert (response.status, response.exception_class) == (400, name), response


# -- heartbeats ---------------------------------------------------------------------------------
BEAT = {"executable": "conveyor-submitter", "hostname": "node1", "pid": 42, "older_than": 600,
        "payload": "p1"}


@pytest.mark.gen_test
async def test_heartbeats_send_and_list(api, db):
    response = await api.post("/heartbeats", BEAT)
    assert (response.status, response.text) == (200, "OK")
    assert (await api.post("/heartbeats", dict(BEAT, payload="p2"))).status == 200
    assert (await api.post("/heartbeats", dict(BEAT, pid=43, payload=None))).status == 200
    response = await api.get("/heartbeats")
    assert response.headers["Content-Type"].startswith("application/json")
    beats = response.json()
    assert [(b["readable"], b["hostname"], b["pid"], b["payload"]) for b in beats] == [
        ("conveyor-submitter", "node1", 42, "p2"), ("conveyor-submitter", "node1", 43, None)]
    assert beats[0]["thread_name"] == "thread" and beats[0]["updated_at"].endswith(" UTC")
    assert set(beats[0]) == {"readable", "hostname", "pid", "thread_name", "updated_at",
                             "created_at", "payload"}


@pytest.mark.gen_test
async def test_heartbeats_permissions(api, db):
    await accounts(api)
    assert (await api.as_("carol").post("/heartbeats", BEAT)).status == 200   # admin sends
    for caller, method in ((api.as_("carol"), "GET"), (api.as_("jdoe"), "GET"),
                           (api.as_("jdoe"), "POST")):                          # root lists
        response = await caller.request(method, "/heartbeats", BEAT if method == "POST" else None)
        assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert len((await api.get("/heartbeats")).json()) == 1


@pytest.mark.gen_test
@pytest.mark.parametrize("body, name", [
    ({"hostname": "h", "pid": 1}, "KeyError"),
    ({"executable": "e", "pid": 1}, "KeyError"),
    ({"executable": "e", "hostname": "h"}, "KeyError"),
    (dict(BEAT, pid="42"), "InvalidObject"),
    (dict(BEAT, pid=True), "InvalidObject"),
    (dict(BEAT, pid=-1), "InvalidObject"),
    (dict(BEAT, executable=["e"]), "InvalidObject"),
    (dict(BEAT, hostname=""), "InvalidObject"),
    (dict(BEAT, hostname="h" * 129), "InvalidObject"),
    (dict(BEAT, older_than="soon"), "InvalidObject"),
    (dict(BEAT, payload={"a": 1}), "InvalidObject"),
    (dict(BEAT, payload="x" * 3001), "InvalidObject"),
    ([BEAT], "TypeError"),
])
async def test_heartbeats_bad_input_changes_nothing(api, db, body, name):
    response = await api.post("/heartbeats", body)
    assert (response.status, response.exception_class) == (400, name), response
    assert count_rows(db, Heartbeat) == 0


def test_daemon_pass_records_a_heartbeat(db, monkeypatch):
    monkeypatch.setattr(daemon, "load_tasks", lambda: {"fake": lambda: 7, "broken": lambda: 1 / 0})
    assert daemon.run_once(db, ["fake", "broken"]) == {"fake": 7, "broken": None}
    daemon.run_once(db, ["fake"])
    with db.peewee.connection_context():
        beats = {b.readable: b.payload for b in Heartbeat.select()}
    assert beats == {"rucio-tornado daemon fake": "last pass: 7",
                     "rucio-tornado daemon broken": "failed"}


# -- traces -------------------------------------------------------------------------------------
@pytest.mark.gen_test
async def test_traces_accepted_without_token(api, db):
    anonymous = api.as_(None)
    before = traces_total("traces")
    response = await anonymous.post("/traces/", UPLOAD_TRACE,
                                     headers={"Origin": "https://monitor.example.org"})
    assert (response.status, response.text) == (201, "Created")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Access-Control-Allow-Origin"] == "https://monitor.example.org"
    assert response.headers["Access-Control-Allow-Methods"] == "*"
    download = dict(UPLOAD_TRACE, eventType="download", localSite="SITE-B")
    assert (await anonymous.post("/traces", [download, {"eventType": "touch"}])).status == 201
    assert (await anonymous.post("/traces/", [])).status == 201
    assert traces_total("traces") == before + 3
    with db.peewee.connection_context():
        stored = traces.list_traces(traces.TRACES)
        assert [t["eventType"] for t in stored] == ["touch", "download", "upload"]
        assert stored[2]["filename"] == "f1" and stored[2]["traceIp"] == "127.0.0.1"
        assert len(stored[2]["traceId"]) == 32 and stored[2]["traceTimeentryUnix"] > 0
        assert {t.event_type for t in Trace.select()} == {"upload", "download", "touch"}


@pytest.mark.gen_test
async def test_nongrid_traces(api, db):
    anonymous = api.as_(None)
    before = traces_total("nongrid")
    response = await anonymous.post("/nongrid_traces/", {"payload": "xaod", "uuid": "u"})
    assert (response.status, response.text) == (201, "Created")
    assert traces_total("nongrid") == before + 1
    with db.peewee.connection_context():
        [stored] = traces.list_traces(traces.NONGRID)
    assert stored["payload"] == "xaod" and stored["ip"] == "127.0.0.1"
    assert isinstance(stored["timeentry"], int)
    response = await anonymous.post("/nongrid_traces/", [{"payload": "x"}])
    assert (response.status, response.exception_class) == (400, "TypeError")


@pytest.mark.gen_test
@pytest.mark.parametrize("path, raw, name", [
    ("/traces/", "{not json", "JSONDecodeError"),
    ("/traces/", "", "JSONDecodeError"),
    ("/traces/", "42", "TypeError"),
    ("/traces/", '"text"', "TypeError"),
    ("/traces/", '[{"eventType": "upload"}, 3]', "TypeError"),
    ("/traces/", ujson.dumps({"big": "x" * 70000}), "InvalidObject"),
    ("/nongrid_traces/", "{not json", "ValueError"),
    ("/nongrid_traces/", "[]", "TypeError"),
])
async def test_traces_bad_input_changes_nothing(api, db, path, raw, name):
    response = await api.as_(None).post(path, raw_body=raw)
    assert (response.status, response.exception_class) == (400, name), response
    assert count_rows(db, Trace) == 0


@pytest.mark.gen_test
async def test_trace_retention_keeps_the_newest(api, db, settings):
    settings.trace_retention = 3
    for start in (0, 2, 4):
        batch = [{"eventType": "get", "n": n} for n in range(start, start + 2)]
        assert (await api.as_(None).post("/traces/", batch)).status == 201
    big = [{"eventType": "get", "n": n} for n in range(10, 15)]
    assert (await api.as_(None).post("/traces/", big)).status == 201
    with db.peewee.connection_context():
        assert [t["n"] for t in traces.list_traces()] == [14, 13, 12]
    assert count_rows(db, Trace) == 3


def test_trace_retention_setting_is_checked():
    assert config.Settings().trace_retention == 100000
    assert any("trace_retention" in p for p in config.validate(config.Settings(trace_retention=-1)))
    assert not any("trace_retention" in p for p in config.validate(config.Settings()))


# -- live ---------------------------------------------------------------------------------------
def live_traces_total(live, kind):
    text = requests.get(live.url + "/metrics", timeout=10).text
    found = re.search(rf'^rucio_traces_total{{kind="{kind}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.integration
def test_live_vos_and_heartbeats(live):
    client = live.client()
    url = live.url + "/vos/"
    headers = {"X-Rucio-Auth-Token": client.auth_token}
    response = requests.get(url, headers=headers, timeout=10)
    assert (response.status_code, response.headers["ExceptionClass"]) == \
        (409, "UnsupportedOperation")
    beat = requests.post(live.url + "/heartbeats", headers=headers, timeout=10,
                         data=ujson.dumps(BEAT))
    assert (beat.status_code, beat.text) == (200, "OK")
    listed = requests.get(live.url + "/heartbeats", headers=headers, timeout=10).json()
    assert [b["readable"] for b in listed] == ["conveyor-submitter"]


@pytest.mark.integration
def test_live_upload_and_download_send_accepted_traces(live, tmp_path):
    from rucio.client.downloadclient import DownloadClient
    from rucio.client.uploadclient import UploadClient
    client = live.client()
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    storage = tmp_path / "storage"
    storage.mkdir()
    rse = f"TRACEDISK-{live.port}"      # the client caches RSE info by name across servers
    client.add_rse(rse)
    client.add_protocol(rse, {
        "scheme": "file", "hostname": "localhost", "port": 0, "prefix": str(storage),
        "impl": "rucio.rse.protocols.posix.Default",
        "domains": {"lan": {"read": 1, "write": 1, "delete": 1},
                    "wan": {"read": 1, "write": 1, "delete": 1}}})
    client.set_local_account_limit("root", rse, 10 ** 9)      # upload adds a rule
    source = tmp_path / "traced.file"
    source.write_bytes(b"traced content\n")
    before = live_traces_total(live, "traces")
    assert UploadClient(client).upload(
        [{"path": str(source), "rse": rse, "did_scope": "mock"}]) == 0
    after_upload = live_traces_total(live, "traces")
    assert after_upload >= before + 1
    [result] = DownloadClient(client).download_dids(
        [{"did": "mock:traced.file", "base_dir": str(tmp_path / "down")}])
    assert result["clientState"] == "DONE"
    assert live_traces_total(live, "traces") >= after_upload + 1
