"""The real rucio-clients (Python Client and CLI) on replicas, against a real server."""
import pytest
from rucio.common.exception import AccessDenied, RSENotFound, ScopeNotFound


pytestmark = pytest.mark.integration
PFN = "file://localhost/rucio/user/jdoe/7f/2d/f1"


def setup_world(client):
    client.add_account("jdoe", "USER", "jdoe@example.org")
    client.add_scope("jdoe", "user.jdoe")
    for rse in ("MOCK", "MOCK2"):
        client.add_rse(rse)
    client.add_protocol("MOCK", {"scheme": "file", "hostname": "localhost", "port": 0,
                                 "prefix": "/rucio", "impl": "rucio.rse.protocols.posix.Default",
                                 "domains": {"wan": {"read": 1, "write": 1, "delete": 1}}})
    client.add_protocol("MOCK2", {"scheme": "root", "hostname": "xrd.example", "port": 1094,
                                  "prefix": "/data", "impl": "rucio.rse.protocols.xrootd.Default",
                                  "domains": {"wan": {"read": 1, "write": 1, "delete": 1}}})


def test_client_and_cli_replicas(live):
    client = live.client()
    setup_world(client)
    files = [{"scope": "user.jdoe", "name": f"f{i}", "bytes": 100 * i, "adler32": "0cc737eb"}
             for i in range(1, 4)]
    assert client.add_replicas("MOCK", files) is True
    assert client.add_replicas("MOCK", files) is True                    # idempotent
    assert client.add_replica("MOCK2", "user.jdoe", "f1", 100, "0cc737eb") is True
    with pytest.raises(RSENotFound):
        client.add_replicas("NOPE", files)
    with pytest.raises(ScopeNotFound):
        client.add_replicas("MOCK", [dict(files[0], scope="nosuch")])

    [line] = client.list_replicas([{"scope": "user.jdoe", "name": "f1"}])
    assert line["rses"] == {"MOCK": [PFN], "MOCK2": ["root://xrd.example:1094/data/user/jdoe/7f/2d/f1"]}
    assert line["states"] == {"MOCK": "AVAILABLE", "MOCK2": "AVAILABLE"}
    [line] = client.list_replicas([{"scope": "user.jdoe", "name": "f1"}], schemes=["file"])
    assert list(line["pfns"]) == [PFN] and line["pfns"][PFN]["rse"] == "MOCK"
    [line] = client.list_replicas([{"scope": "user.jdoe", "name": "f1"}], rse_expression="MOCK2")
    assert list(line["states"]) == ["MOCK2"]
    metalink = client.list_replicas([{"scope": "user.jdoe", "name": "f1"}], metalink=True)
    assert PFN in metalink and "<metalink" in metalink

    client.update_replicas_states("MOCK", [{"scope": "user.jdoe", "name": "f3", "state": "U"}])
    lines = client.list_replicas([{"scope": "user.jdoe", "name": "f3"}], all_states=True)
    assert [x["states"] for x in lines] == [{"MOCK": "UNAVAILABLE"}]

    client.add_dataset("user.jdoe", "ds1")
    client.attach_dids("user.jdoe", "ds1", [{"scope": "user.jdoe", "name": f"f{i}"}
                                            for i in range(1, 4)])
    lines = list(client.list_replicas([{"scope": "user.jdoe", "name": "ds1"}],
                                      resolve_parents=True))
    # as the real server, a collection lists the files with a replica the filters select:
    # f3's only one is UNAVAILABLE
    assert [x["name"] for x in lines] == ["f1", "f2"]
    assert lines[0]["parents"] == ["user.jdoe:ds1"]
    lines = list(client.list_replicas([{"scope": "user.jdoe", "name": "ds1"}],
                                      all_states=True))
    assert [x["name"] for x in lines] == ["f1", "f2", "f3"]
    [mock] = [r for r in client.list_dataset_replicas("user.jdoe", "ds1") if r["rse"] == "MOCK"]
    assert (mock["length"], mock["available_length"], mock["state"]) == (3, 2, "UNAVAILABLE")
    deep = list(client.list_dataset_replicas("user.jdoe", "ds1", deep=True))
    assert {r["rse"] for r in deep} == {"MOCK", "MOCK2"}
    bulk = list(client.list_dataset_replicas_bulk([{"scope": "user.jdoe", "name": "ds1"}]))
    assert {r["rse"] for r in bulk} == {"MOCK", "MOCK2"}
    assert [r["name"] for r in client.list_datasets_per_rse("MOCK")] == ["ds1"]

    out = live.cli("replica", "list", "file", "user.jdoe:f1").stdout
    assert PFN in out and "MOCK" in out
    out = live.cli("replica", "list", "file", "--rses", "MOCK2", "user.jdoe:f1").stdout
    assert "xrd.example" in out and PFN not in out
    out = live.cli("replica", "list", "dataset", "user.jdoe:ds1").stdout
    assert "MOCK" in out and "3" in out

    assert client.set_tombstone([{"rse": "MOCK", "scope": "user.jdoe", "name": "f2"}]) is True
    assert list(client.get_did_from_pfns([PFN], "MOCK")) == [
        {PFN: {"scope": "user.jdoe", "name": "f1"}}]
    assert client.declare_bad_file_replicas([PFN], "lost") == {}
    [line] = client.list_replicas([{"scope": "user.jdoe", "name": "f1"}], all_states=True)
    assert line["states"]["MOCK"] == "BAD"


def test_permissions_of_a_user(live):
    root = live.client()
    root.add_identity("jdoe", "jdoe", "USERPASS", "jdoe@example.org", password="secret")
    root.add_rse("JDOE-SCRATCHDISK")
    root.add_rse("CERN-DISK")
    jdoe = live.client("jdoe", "jdoe", "secret")
    item = [{"scope": "user.jdoe", "name": "u1", "bytes": 1, "adler32": "0cc737eb"}]
    assert jdoe.add_replicas("JDOE-SCRATCHDISK", item) is True
    with pytest.raises(AccessDenied):
        jdoe.add_replicas("CERN-DISK", item)
    with pytest.raises(AccessDenied):
        jdoe.delete_replicas("JDOE-SCRATCHDISK", [{"scope": "user.jdoe", "name": "u1"}])
