"""DIRAC addfiles, quarantined replicas, the opendata catalog and s3 signed URLs through the
real client (``DiracClient``, ``ReplicaClient``, ``OpenDataClient``, ``CredentialClient``) and
the ``rucio opendata`` CLI, against a live server on both databases."""
import datetime
import json
from urllib.parse import parse_qs, urlparse

import botocore.auth
import pytest
from rucio.common import exception

from rucio_tornado.core.signed_urls import presign_s3
from tests.live import LiveServer

pytestmark = pytest.mark.integration

CREDENTIAL = {"access_key": "AKIAIOSFODNN7EXAMPLE",
              "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
              "signature_version": "s3v4", "region": "us-east-1"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("live")
    accounts = workdir / "rse-accounts.cfg"
    accounts.write_text(json.dumps({"LC-S3": CREDENTIAL}))
    live = LiveServer(request.param, workdir,
                      extra_env={"RUCIO_TORNADO_RSE_ACCOUNTS": str(accounts)})
    client = live.client()
    client.add_rse("LC-DISK")
    client.add_rse_attribute("LC-DISK", "ANY", True)
    client.add_protocol("LC-DISK", {"scheme": "file", "hostname": "localhost", "port": 0,
                                    "prefix": "/tmp/lc", "impl": "rucio.rse.protocols.posix.Default",
                                    "domains": {"wan": {"read": 1, "write": 1, "delete": 1}}})
    client.set_local_account_limit("root", "LC-DISK", 10 ** 12)
    client.add_rse("LC-S3")
    client.add_scope("root", "belle")
    client.add_scope("root", "mock")
    yield live
    live.stop()
    assert live.process.returncode == 0, live.read_log()


def test_dirac_add_files(server):
    client = server.client()
    lfn = "/belle/mock/lc_cont/lc_ds/file1"
    assert client.add_files([{"lfn": lfn, "rse": "LC-DISK", "bytes": 1, "adler32": "0cc737eb",
                              "guid": "6d0f4b1c2a3e4f5a8b9c0d1e2f3a4b5c"}],
                            parents_metadata={"/belle/mock/lc_cont": {"project": "lc"}}) is True
    assert client.get_did("mock", "/belle/mock/lc_cont/lc_ds")["type"] == "DATASET"
    assert client.get_did("belle", "/belle")["type"] == "CONTAINER"
    assert client.get_metadata("mock", "/belle/mock/lc_cont")["project"] == "lc"
    files = list(client.list_files("mock", "/belle/mock/lc_cont"))
    assert [f["name"] for f in files] == [lfn]
    replicas = list(client.list_replicas([{"scope": "mock", "name": lfn}]))
    assert list(replicas[0]["rses"]) == ["LC-DISK"]
    with pytest.raises(exception.RSENotFound):
        client.add_files([{"lfn": "/belle/mock/lc_cont/lc_ds/file2", "rse": "NOWHERE",
                           "bytes": 1, "adler32": "0cc737eb"}])
    with pytest.raises(exception.DataIdentifierNotFound):
        client.get_did("mock", "/belle/mock/lc_cont/lc_ds/file2")


def test_quarantine_replicas(server):
    client = server.client()
    client.quarantine_replicas([{"path": "/tmp/lc/orphan"}, {"path": "/tmp/lc/other",
                                                            "scope": "mock", "name": "other"}],
                               rse="LC-DISK")
    rse_id = client.get_rse("LC-DISK")["id"]
    client.quarantine_replicas([{"path": "/tmp/lc/orphan"}], rse_id=rse_id)
    with pytest.raises(exception.RSENotFound):
        client.quarantine_replicas([{"path": "/x"}], rse="NOWHERE")
    with pytest.raises(exception.InputValidationError):
        client.quarantine_replicas([{"scope": "mock"}], rse="LC-DISK")


def test_opendata_client_and_cli(server):
    client = server.client()
    client.add_dataset("mock", "lc_open")
    assert client.add_opendata_did(scope="mock", name="lc_open") is True
    with pytest.raises(exception.OpenDataDataIdentifierAlreadyExists):
        client.add_opendata_did(scope="mock", name="lc_open")
    assert [d["name"] for d in client.list_opendata_dids(state="draft")["dids"]] == ["lc_open"]
    client.update_opendata_did(scope="mock", name="lc_open", meta={"title": "Open"},
                               doi="10.5555/lc.open")
    client.close("mock", "lc_open")
    client.update_opendata_did(scope="mock", name="lc_open", state="public")
    entry = client.get_opendata_did(scope="mock", name="lc_open", include_metadata=True,
                                    public=True)
    assert (entry["state"], entry["doi"], entry["meta"]) == ("PUBLIC", "10.5555/lc.open",
                                                             {"title": "Open"})
    assert client.list_opendata_dids(public=True)["total"] == 1
    with pytest.raises(exception.OpenDataInvalidStateUpdate):
        client.update_opendata_did(scope="mock", name="lc_open", state="draft")
    with pytest.raises(exception.OpenDataInvalidState):
        client.remove_opendata_did(scope="mock", name="lc_open")
    listed = server.cli("opendata", "did", "list", "--short")
    assert "mock:lc_open" in listed.stdout
    shown = server.cli("opendata", "did", "show", "mock:lc_open")
    assert "10.5555/lc.open" in shown.stdout
    client.add_dataset("mock", "lc_draft")
    server.cli("opendata", "did", "add", "mock:lc_draft")
    server.cli("opendata", "did", "update", "mock:lc_draft", "--doi", "10.5555/lc.draft")
    assert client.get_opendata_did(scope="mock", name="lc_draft")["doi"] == "10.5555/lc.draft"
    server.cli("opendata", "did", "remove", "mock:lc_draft")
    with pytest.raises(exception.OpenDataDataIdentifierNotFound):
        client.get_opendata_did(scope="mock", name="lc_draft")


def test_signed_url(server, monkeypatch):
    client = server.client()
    url = "https://s3.example.org/bucket/dir/file.root"
    signed = client.get_signed_url("LC-S3", "s3", "read", url, lifetime=120)
    parts = urlparse(signed)
    query = parse_qs(parts.query)
    assert (parts.netloc, parts.path) == ("s3.example.org", "/bucket/dir/file.root")
    assert query["X-Amz-Expires"] == ["120"]
    # the same signature computed here at the server's signing time
    when = datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: when)
    expected = parse_qs(urlparse(presign_s3(url, "read", 120, CREDENTIAL)).query)
    assert query["X-Amz-Signature"] == expected["X-Amz-Signature"]
    with pytest.raises(exception.UnsupportedOperation):
        client.get_signed_url("LC-DISK", "s3", "read", url)
    client.add_account("lcuser", "USER", "lc@example.org")
    client.add_identity("lcuser", "lcuser", "USERPASS", "lc@example.org", password="pw")
    with pytest.raises(exception.AccessDenied):
        server.client("lcuser", "lcuser", "pw").get_signed_url("LC-S3", "s3", "read", url)
