"""DIDs, content, search and metadata through the real rucio-clients (Client and CLI)."""
import pytest
from rucio.common.exception import (
    DataIdentifierAlreadyExists,
    DataIdentifierNotFound,
    UnsupportedOperation,
)


pytestmark = pytest.mark.integration
SCOPE = "user.root"


@pytest.fixture(scope="module")
def client(live):
    client = live.client()
    client.add_scope("root", SCOPE)
    client.add_rse("MOCK")
    client.add_replicas("MOCK", [{"scope": SCOPE, "name": f"file{i}", "bytes": 10 * (i + 1),
                                  "adler32": "0cc737eb"} for i in range(3)])
    return client


def test_client_dids_content_and_status(client):
    assert client.add_dataset(SCOPE, "ds1", meta={"project": "data18"}) is True
    assert client.add_dataset(SCOPE, "ds2", statuses={"monotonic": True}, lifetime=3600) is True
    assert client.add_container(SCOPE, "cont1") is True
    with pytest.raises(DataIdentifierAlreadyExists):
        client.add_dataset(SCOPE, "ds1")
    assert client.attach_dids(SCOPE, "ds1", [{"scope": SCOPE, "name": "file0"},
                                             {"scope": SCOPE, "name": "file1"}]) is True
    assert client.attach_dids(SCOPE, "cont1", [{"scope": SCOPE, "name": "ds1"}]) is True
    with pytest.raises(UnsupportedOperation):
        client.attach_dids(SCOPE, "cont1", [{"scope": SCOPE, "name": "file2"}])
    content = list(client.list_content(SCOPE, "ds1"))
    assert sorted(c["name"] for c in content) == ["file0", "file1"]
    assert content[0]["type"] == "FILE" and content[0]["adler32"] == "0cc737eb"
    files = list(client.list_files(SCOPE, "cont1"))
    assert sorted(f["name"] for f in files) == ["file0", "file1"]
    parents = list(client.list_parent_dids(SCOPE, "ds1"))
    assert parents == [{"scope": SCOPE, "name": "cont1", "type": "CONTAINER"}]
    did = client.get_did(SCOPE, "ds1")
    assert did["type"] == "DATASET" and did["open"] is True
    assert client.get_did(SCOPE, "ds2")["monotonic"] is True
    assert client.close(SCOPE, "ds1") is True
    did = client.get_did(SCOPE, "ds1")
    assert (did["open"], did["length"], did["bytes"]) == (False, 2, 30)
    with pytest.raises(DataIdentifierNotFound):
        client.get_did(SCOPE, "nosuch")


def test_client_search_and_metadata(client):
    client.add_dataset(SCOPE, "search_a", meta={"run_number": 10})
    client.add_dataset(SCOPE, "search_b", meta={"run_number": 20})
    client.add_container(SCOPE, "search_c")
    assert client.set_metadata(SCOPE, "search_a", "stage", "raw") is True
    assert client.get_metadata(SCOPE, "search_a", plugin="JSON") == {"stage": "raw"}
    assert client.get_metadata(SCOPE, "search_a")["run_number"] == 10
    found = sorted(client.list_dids(SCOPE, [{"name": "search_*"}]))
    assert found == ["search_a", "search_b", "search_c"]
    assert list(client.list_dids(SCOPE, [{"name": "search_*"}], did_type="container")) == [
        "search_c"]
    assert list(client.list_dids(SCOPE, [{"run_number.gt": 15}], did_type="dataset")) == [
        "search_b"]
    assert list(client.list_dids(SCOPE, [{"stage": "raw"}], did_type="all")) == ["search_a"]
    long = list(client.list_dids(SCOPE, [{"name": "file0"}], did_type="file", long=True))
    assert long == [{"scope": SCOPE, "name": "file0", "did_type": "FILE", "bytes": 10,
                     "length": long[0]["length"]}]


def test_cli_did_commands(live, client):
    live.cli("did", "add", "--type", "dataset", f"{SCOPE}:cli_ds")
    live.cli("did", "add", "--type", "container", f"{SCOPE}:cli_cont")
    listed = live.cli("did", "list", f"{SCOPE}:cli_*").stdout
    assert "cli_ds" in listed and "cli_cont" in listed
    live.cli("did", "content", "add", "--to-did", f"{SCOPE}:cli_ds", f"{SCOPE}:file2")
    live.cli("did", "content", "add", "--to-did", f"{SCOPE}:cli_cont", f"{SCOPE}:cli_ds")
    assert "file2" in live.cli("did", "content", "list", f"{SCOPE}:cli_ds").stdout
    live.cli("did", "metadata", "set", f"{SCOPE}:cli_ds", "--key", "campaign", "--value", "mc23")
    assert "mc23" in live.cli("did", "metadata", "list", f"{SCOPE}:cli_ds").stdout
    filtered = live.cli("did", "list", f"{SCOPE}:*", "--filter", "type=dataset,campaign=mc23").stdout
    assert "cli_ds" in filtered and "cli_cont" not in filtered
    live.cli("did", "metadata", "set", f"{SCOPE}:cli_cont", "--key", "tier", "--value", "gold")
    free = live.cli("did", "list", f"{SCOPE}:*", "--filter", "type=all,tier=gold").stdout
    assert "cli_cont" in free and "cli_ds" not in free


def test_client_attach_with_rse_registers_files(client):
    files = [{"scope": SCOPE, "name": f"new{i}", "bytes": 5, "adler32": "0000000a"}
             for i in range(2)]
    assert client.add_dataset(SCOPE, "ds_rse", files=files, rse="MOCK") is True
    assert sorted(f["name"] for f in client.list_files(SCOPE, "ds_rse")) == ["new0", "new1"]
    assert client.attach_dids(SCOPE, "ds_rse", [{"scope": SCOPE, "name": "new2", "bytes": 1,
                                                 "adler32": "00000001"}], rse="MOCK") is True
    replicas = list(client.list_replicas([{"scope": SCOPE, "name": "new2"}]))
    assert replicas and "MOCK" in replicas[0]["states"]


def test_client_bulk_metadata_then_cli_lists_by_it(live, client):
    """``set_dids_metadata_bulk`` as the real server applies it: every DID gets its own item's
    metadata (shared values set together here), the last item of a DID listed twice wins."""
    names = [f"bulkmeta{i}" for i in range(4)]
    for name in names:
        client.add_dataset(SCOPE, name)
    same = {"stage": "bulkraw", "project": "bulk26"}
    items = [{"scope": SCOPE, "name": n, "meta": same} for n in names[:3]]
    items.append({"scope": SCOPE, "name": names[3], "meta": {"stage": "bulkcooked"}})
    assert client.set_dids_metadata_bulk(items) is True
    assert client.get_metadata(SCOPE, names[0], plugin="ALL")["project"] == "bulk26"
    assert client.get_metadata(SCOPE, names[3], plugin="JSON") == {"stage": "bulkcooked"}
    listed = live.cli("did", "list", f"{SCOPE}:*", "--filter", "type=dataset,stage=bulkraw")
    assert listed.returncode == 0
    assert sorted(n for n in names if n in listed.stdout) == names[:3]
    twice = [{"scope": SCOPE, "name": names[0], "meta": {"stage": "first"}},
             {"scope": SCOPE, "name": names[0], "meta": {"stage": "last"}}]
    assert client.set_dids_metadata_bulk(twice) is True
    assert client.get_metadata(SCOPE, names[0], plugin="JSON")["stage"] == "last"
