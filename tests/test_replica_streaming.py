"""Replica listings stream: chunked, every file exactly once, and aborted streams free their
cursor and connection at once."""
import asyncio
from urllib.parse import urlparse

import pytest
import ujson
from tornado.tcpclient import TCPClient

from rucio_tornado.core.bulk import insert_rows
from rucio_tornado.db import atomic
from rucio_tornado.models import RSE, DID, Content, Replica, RSEProtocol, Scope

FILES = 20_000


@atomic
def build_dataset(count):
    """One dataset of ``count`` files, each with a replica on MOCK (and every 7th on MOCK2)."""
    mock = RSE.create(rse="MOCK")
    mock2 = RSE.create(rse="MOCK2")
    RSEProtocol.create(rse_id=mock.id, scheme="file", hostname="localhost", prefix="/rucio",
                       impl="posix", read_wan=1)
    Scope.create(scope="user.jdoe", account="root")
    DID.create(scope="user.jdoe", name="ds", did_type="DATASET", account="root")
    names = [f"file_{i:06d}" for i in range(count)]
    insert_rows(DID, ["scope", "name", "did_type", "account", "bytes"],
                [("user.jdoe", n, "FILE", "root", 10) for n in names])
    insert_rows(Content, ["scope", "name", "child_scope", "child_name", "did_type",
                          "child_type", "bytes"],
                [("user.jdoe", "ds", "user.jdoe", n, "DATASET", "FILE", 10) for n in names])
    rows = [(mock.id, "user.jdoe", n, 10, "AVAILABLE") for n in names]
    rows += [(mock2.id, "user.jdoe", n, 10, "AVAILABLE") for n in names[::7]]
    insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "state"], rows)
    return names


@pytest.fixture
def dataset(db):
    return db.run_sync(build_dataset, FILES)


async def open_listing(base_url, token):
    """A raw HTTP/1.1 connection that has sent ``GET /replicas/user.jdoe/ds``."""
    url = urlparse(base_url)
    stream = await TCPClient().connect(url.hostname, url.port)
    await stream.write((f"GET /replicas/user.jdoe/ds HTTP/1.1\r\nHost: {url.netloc}\r\n"
                        f"X-Rucio-Auth-Token: {token}\r\nConnection: close\r\n\r\n").encode())
    return stream


def dechunk(body):
    """Decode a chunked body; returns the list of chunks."""
    chunks = []
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        body = rest[size + 2:]


@pytest.mark.gen_test(timeout=60)
async def test_every_file_once_in_several_chunks(api, dataset, base_url):
    stream = await open_listing(base_url, api.token)
    raw = await stream.read_until_close()
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = head.decode().lower()
    assert " 200 " in headers.splitlines()[0]
    assert "transfer-encoding: chunked" in headers
    assert "content-type: application/x-json-stream" in headers
    chunks = dechunk(body)
    assert len(chunks) >= FILES // 1000
    lines = [ujson.loads(line) for line in b"".join(chunks).splitlines()]
    assert [line["name"] for line in lines] == dataset
    assert all(line["states"]["MOCK"] == "AVAILABLE" for line in lines)
    assert sum("MOCK2" in line["states"] for line in lines) == len(dataset[::7])
    assert lines[0]["rses"]["MOCK"][0].startswith("file://localhost/rucio/user/jdoe/")


@pytest.mark.gen_test(timeout=120)
async def test_aborted_listings_free_their_connections(api, db, dataset, base_url):
    async def abort_one():
        stream = await open_listing(base_url, api.token)
        await stream.read_bytes(200, partial=True)
        stream.close()

    for _ in range(25):
        await asyncio.gather(*(abort_one() for _ in range(4)))
    for _ in range(200):
        if db.stream_pool is None or db.stream_pool.in_use == 0:
            break
        await asyncio.sleep(0.05)
    if db.stream_pool is not None:
        assert db.stream_pool.in_use == 0
    assert (await api.get("/ping")).status == 200
    response = await api.post("/replicas/list", {"dids": [{"scope": "user.jdoe", "name": "ds"}]})
    assert len(response.lines()) == FILES


@atomic
def build_uneven_dataset():
    """Files with 0 to 5 replicas each (on RSEs R0..R4), in one dataset."""
    rses = [RSE.create(rse=f"R{i}") for i in range(5)]
    for rse in rses:
        RSEProtocol.create(rse_id=rse.id, scheme="file", hostname="localhost", prefix=rse.rse,
                           impl="posix", read_wan=1)
    Scope.create(scope="user.jdoe", account="root")
    DID.create(scope="user.jdoe", name="ds", did_type="DATASET", account="root")
    counts = [5, 2, 0, 1, 3, 4, 1, 1, 0, 5, 2]
    names = [f"f{i:02d}" for i in range(len(counts))]
    insert_rows(DID, ["scope", "name", "did_type", "account", "bytes"],
                [("user.jdoe", n, "FILE", "root", 10) for n in names])
    insert_rows(Content, ["scope", "name", "child_scope", "child_name", "did_type",
                          "child_type", "bytes"],
                [("user.jdoe", "ds", "user.jdoe", n, "DATASET", "FILE", 10) for n in names])
    insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "state"],
                [(rses[r].id, "user.jdoe", n, 10, "AVAILABLE")
                 for n, count in zip(names, counts) for r in range(count)])
    return {n: {f"R{r}" for r in range(count)} for n, count in zip(names, counts)}


@pytest.mark.gen_test
@pytest.mark.parametrize("page_rows", [1, 3, 4, 7, 1000])
async def test_pages_cut_inside_a_file_still_give_every_replica_once(api, db, monkeypatch,
                                                                     page_rows):
    from rucio_tornado.core.replicas import listing as replica_list
    expected = db.run_sync(build_uneven_dataset)
    monkeypatch.setattr(replica_list, "SQLITE_PAGE_ROWS", page_rows)
    monkeypatch.setattr(db, "batch_size", 2)
    response = await api.get("/replicas/user.jdoe/ds")
    lines = response.lines()
    # as the real server, a collection lists only the files that have a replica
    with_replicas = {name: rses for name, rses in expected.items() if rses}
    assert [line["name"] for line in lines] == sorted(with_replicas)
    assert {line["name"]: set(line["states"]) for line in lines} == with_replicas
    assert all(len(line["pfns"]) == len(line["states"]) for line in lines)
