"""``rucio-admin data export`` from one live server, ``import`` into a fresh one, compared."""
import json

import pytest

from tests.live import LiveServer

pytestmark = pytest.mark.integration

PROTOCOL = {"scheme": "root", "hostname": "xrd.example.org", "port": 1094, "prefix": "/data",
            "impl": "rucio.rse.protocols.xrootd.Default",
            "domains": {"lan": {"read": 1, "write": 1, "delete": 1},
                        "wan": {"read": 1, "write": 1, "delete": 1, "third_party_copy_read": 1,
                                "third_party_copy_write": 1}},
            "extended_attributes": None}


def deployment(client):
    client.add_rse("EXA-DISK", country_name="CH", city="Geneva", latitude=46.2)
    client.add_rse("EXB-TAPE", rse_type="TAPE")
    client.add_rse_attribute("EXA-DISK", "tier", "1")
    client.add_rse_attribute("EXA-DISK", "lfn2pfn_algorithm", "identity")
    client.add_protocol("EXA-DISK", dict(PROTOCOL))
    client.set_rse_limits("EXA-DISK", "MinFreeSpace", 10000)
    client.add_distance("EXA-DISK", "EXB-TAPE", {"distance": 3})
    client.add_account("exjane", "USER", "jane@example.org")
    client.add_identity("exjane", "/DC=org/CN=Jane Doe", "X509", "jane@example.org")
    client.add_identity("exjane", "jane@EXAMPLE.ORG", "GSS", "jane@example.org")


def comparable(data):
    """The document without what differs from server to server (ids, times)."""
    for rse in data["rses"].values():
        for key in ("id", "created_at", "updated_at"):
            rse.pop(key)
    for destinations in data["distances"].values():
        for distance in destinations.values():
            for key in ("src_rse_id", "dest_rse_id", "created_at", "updated_at"):
                distance.pop(key)
    return data


def test_export_import_round_trip(live, tmp_path):
    client = live.client()
    deployment(client)
    exported = client.export_data()
    rse = exported["rses"]["EXA-DISK"]
    assert rse["attributes"]["tier"] == "1" and rse["MinFreeSpace"] == 10000
    assert rse["lfn2pfn_algorithm"] == "identity" and rse["city"] == "Geneva"
    assert rse["protocols"][0]["hostname"] == "xrd.example.org"
    assert exported["distances"]["EXA-DISK"]["EXB-TAPE"]["distance"] == 3
    assert exported["rses"]["EXB-TAPE"]["rse_type"] == "TAPE"
    jane = next(a for a in exported["accounts"] if a["account"] == "exjane")
    assert {i["type"] for i in jane["identities"]} == {"X509", "GSS"}

    path = tmp_path / "deployment.json"
    live.cli("data", "export", str(path), program="rucio-admin")
    assert comparable(json.loads(path.read_text())) == comparable(json.loads(
        json.dumps(client.export_data(), default=str)))

    fresh = LiveServer(live.backend, tmp_path / "fresh")
    try:
        fresh.cli("data", "import", str(path), program="rucio-admin")
        copied = fresh.client().export_data()
        assert comparable(json.loads(json.dumps(copied, default=str))) == \
            comparable(json.loads(path.read_text()))
        # importing again changes nothing
        fresh.cli("data", "import", str(path), program="rucio-admin")
        again = comparable(json.loads(json.dumps(fresh.client().export_data(), default=str)))
        assert again == comparable(json.loads(path.read_text()))
    finally:
        fresh.stop()


def test_import_refuses_bad_documents(live):
    client = live.client()
    from rucio.common.exception import RucioException
    before = client.export_data()
    with pytest.raises(RucioException):
        client.import_data({"rses": {"EXC-DISK": {"rse_type": "FLOPPY"}}})
    with pytest.raises(RucioException):
        client.import_data({"rses": {"EXD-DISK": {}}, "distances": {"EXD-DISK": {"NOPE": {
            "distance": 1}}}})
    assert client.export_data() == before


def test_client_storage_routes(live):
    from rucio.common.exception import RucioException
    client = live.client()
    client.add_rse("EXS-DISK")
    client.add_protocol("EXS-DISK", dict(PROTOCOL))
    pfns = client.lfns2pfns("EXS-DISK", ["mock:f1"], operation="write", scheme="root")
    assert pfns == {"mock:f1": "root://xrd.example.org:1094/data/mock/"
                    + pfns["mock:f1"].rsplit("/mock/", 1)[1]}
    assert client.add_qos_policy("EXS-DISK", "FAST") is True
    live.cli("rse", "add-qos-policy", "EXS-DISK", "SLOW", program="rucio-admin")
    assert client.list_qos_policies("EXS-DISK") == ["FAST", "SLOW"]
    listed = live.cli("rse", "list-qos-policies", "EXS-DISK", program="rucio-admin")
    assert "FAST" in listed.stdout and "SLOW" in listed.stdout
    live.cli("rse", "delete-qos-policy", "EXS-DISK", "FAST", program="rucio-admin")
    assert client.list_qos_policies("EXS-DISK") == ["SLOW"]
    with pytest.raises(RucioException) as error:     # s3: tests/test_integration_catalogs.py
        client.get_signed_url("EXS-DISK", "gcs", "read", "https://storage.example/b/key")
    assert "not supported by this server" in str(error.value)
    assert list(client.list_dataset_replicas_vp("mock", "nothing")) == ["other"]
    with pytest.raises(RucioException) as error:     # served now: a live DID is no deleted one
        client.resurrect([{"scope": "mock", "name": "ds1"}])
    assert type(error.value).__name__ == "DataIdentifierNotFound"
