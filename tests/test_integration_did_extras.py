"""Samples, resurrection, new DIDs and followers against a live server: the real client's
``create_did_sample`` and ``resurrect``; rucio-clients 41.5.1 has no methods (nor CLI) for
``GET /dids/new`` and the followers, so those go through plain HTTP with the client's token."""
import json
import time
from urllib.parse import quote

import pytest
import requests
from rucio.common.exception import AccessDenied, DataIdentifierAlreadyExists, \
    DataIdentifierNotFound

pytestmark = pytest.mark.integration
SCOPE = "user.root"


@pytest.fixture(scope="module")
def client(live):
    client = live.client()
    client.add_scope("root", SCOPE)
    client.add_rse("MOCK")
    client.add_replicas("MOCK", [{"scope": SCOPE, "name": f"file{i}", "bytes": 10,
                                  "adler32": "0cc737eb"} for i in range(8)])
    client.add_dataset(SCOPE, "input")
    client.attach_dids(SCOPE, "input", [{"scope": SCOPE, "name": f"file{i}"} for i in range(8)])
    return client


def test_create_did_sample(client):
    assert client.create_did_sample(SCOPE, "input", SCOPE, "sample", 3) is True
    files = [f["name"] for f in client.list_files(SCOPE, "sample")]
    assert len(files) == 3 and set(files) <= {f"file{i}" for i in range(8)}
    assert client.get_did(SCOPE, "sample")["type"] == "DATASET"
    with pytest.raises(DataIdentifierAlreadyExists):
        client.create_did_sample(SCOPE, "input", SCOPE, "sample", 3)
    with pytest.raises(DataIdentifierNotFound):
        client.create_did_sample(SCOPE, "nothing", SCOPE, "sample2", 3)


def test_resurrect_an_expired_dataset(live, client):
    client.add_dataset(SCOPE, "short", lifetime=1)
    time.sleep(1.5)
    with pytest.raises(DataIdentifierNotFound):
        client.resurrect([{"scope": SCOPE, "name": "input"}])        # alive: nothing to do
    assert client.resurrect([{"scope": SCOPE, "name": "short"}]) is True
    assert client.get_did(SCOPE, "short")["expired_at"] is None
    client.add_account("jane", "USER", "jane@example.org")
    client.add_identity("jane", "jane", "USERPASS", "jane@example.org", default=True,
                        password="secret12")
    jane = live.client("jane", "jane", "secret12")
    with pytest.raises(AccessDenied):
        jane.resurrect([{"scope": SCOPE, "name": "short"}])


def test_new_dids_and_followers_over_http(live, client):
    headers = {"X-Rucio-Auth-Token": client.auth_token}
    client.add_dataset(SCOPE, "fresh")
    response = requests.get(f"{live.url}/dids/new", params={"type": "DATASET"},
                            headers=dict(headers, Accept="application/x-json-stream"))
    assert response.status_code == 200, response.text
    names = {json.loads(line)["name"] for line in response.text.splitlines()}
    # the live server's subscription task (every second) may have seen it already
    assert "fresh" in names or client.get_metadata(SCOPE, "fresh")["is_new"] is False
    assert "file0" not in names
    follow = f"{live.url}/dids/{SCOPE}/{quote('input', safe='')}/follow"
    assert requests.post(follow, json={"account": "root"}, headers=headers).status_code == 201
    response = requests.get(follow, headers=headers)
    assert response.status_code == 200 and response.text.splitlines() == ['{"user":"root"}']
    assert requests.delete(follow, json={"account": "root"}, headers=headers).status_code == 200
    assert requests.get(follow, headers=headers).text == ""
