"""Locks and transfer requests with the real rucio-clients (Python Client and CLI), live."""
import pytest
from rucio.common.constants import TransferLimitDirection
from rucio.common.exception import AccessDenied, RSENotFound, RucioException

from tests.test_integration_rules import setup_catalog

pytestmark = pytest.mark.integration


def catalog(client, prefix):
    """Rules on <prefix>-A (data there: OK) and <prefix>-B (replicating); a container."""
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    a, b, dataset, files = setup_catalog(client, prefix)
    did = [{"scope": "mock", "name": dataset}]
    [ok_id] = client.add_replication_rule(did, 1, a)
    [rep_id] = client.add_replication_rule(did, 1, b)
    container = f"{prefix.lower()}.cont"
    client.add_container("mock", container)
    client.attach_dids("mock", container, did)
    return a, b, dataset, container, files, ok_id, rep_id


def test_client_locks(live):
    client = live.client()
    a, b, dataset, container, _, ok_id, rep_id = catalog(client, "LK")
    locks = sorted(client.get_dataset_locks("mock", dataset), key=lambda lock: lock["rse"])
    assert [(lock["rse"], lock["rule_id"], lock["state"]) for lock in locks] == [
        (a, ok_id, "OK"), (b, rep_id, "REPLICATING")]
    assert locks[0]["account"] == "root" and locks[0]["length"] == 2
    assert [lock["rule_id"] for lock in client.get_dataset_locks_by_rse(b)] == [rep_id]
    with pytest.raises(RSENotFound):
        list(client.get_dataset_locks_by_rse("LK-NOPE"))
    bulk = client.get_locks_for_dids([{"scope": "mock", "name": container, "type": "container"}])
    assert sorted(lock["rule_id"] for lock in bulk) == sorted([ok_id, rep_id])
    only_b = client.get_locks_for_dids([{"scope": "mock", "name": dataset}], rse=b)
    assert [lock["rule_id"] for lock in only_b] == [rep_id]
    with pytest.raises(ValueError):
        client.get_locks_for_dids([{"scope": "mock", "name": dataset, "type": "file"}])


def test_cli_rule_list_traverse_reads_locks(live):
    client = live.client()
    _, _, dataset, _, _, ok_id, rep_id = catalog(client, "TV")
    listed = live.cli("rule", "list", "--did", f"mock:{dataset}", "--traverse").stdout
    assert ok_id in listed and rep_id in listed


def test_client_requests_and_limits(live):
    client = live.client()
    a, b, dataset, _, files, _, rep_id = catalog(client, "RQ")
    name = files[0]["name"]
    request = client.list_request_by_did(name, b, scope="mock")
    assert request["state"] == "QUEUED" and request["rule_id"] == rep_id
    assert request["dest_rse"] == b and request["account"] == "root"
    with pytest.raises(RucioException) as error:
        client.list_request_by_did(name, a, scope="mock")
    assert "No request found" in str(error.value)
    queued = list(client.list_requests(a, b, "Q"))
    assert sorted(r["name"] for r in queued) == sorted(f["name"] for f in files)
    assert list(client.list_requests(b, a, "Q")) == []
    assert list(client.list_requests_history(a, b, "D,F")) == []

    assert client.set_transfer_limit(b, max_transfers=5) is True
    assert client.set_transfer_limit(b, activity="Express", max_transfers=1,
                                     direction=TransferLimitDirection.SOURCE) is True
    limits = sorted(client.list_transfer_limits(), key=lambda x: x["direction"])
    assert [(x["rse_expression"], x["direction"], x["activity"], x["max_transfers"])
            for x in limits] == [(b, "DESTINATION", None, 5), (b, "SOURCE", "Express", 1)]
    assert client.delete_transfer_limit(b) is True
    assert [x["direction"] for x in client.list_transfer_limits()] == ["SOURCE"]

    client.update_replicas_states(b, [{"scope": "mock", "name": f["name"], "state": "A"}
                                      for f in files])
    done = list(client.list_requests_history(a, b, "D"))
    assert sorted(r["name"] for r in done) == sorted(f["name"] for f in files)
    assert client.list_request_history_by_did(name, b, scope="mock")["state"] == "DONE"


def test_requests_need_admin(live):
    client = live.client()
    client.add_account("rqjoe", "USER", "rqjoe@example.org")
    client.add_identity("rqjoe", "rqjoe", "USERPASS", "rqjoe@example.org", password="pw")
    joe = live.client("rqjoe", "rqjoe", "pw")
    with pytest.raises(AccessDenied):
        list(joe.list_transfer_limits())
    with pytest.raises(AccessDenied):
        joe.set_transfer_limit("RQ-A", max_transfers=1)
    with pytest.raises(AccessDenied):
        list(joe.list_requests("RQ-A", "RQ-B", "Q"))
