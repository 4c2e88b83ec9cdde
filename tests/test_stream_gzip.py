"""Compressed streams (``Accept-Encoding: gzip``): the same lines, still chunked, every chunk
decodable on arrival, and the writer still waits for the client (back-pressure). Also: the
replica listing's uniform-batch path gives exactly the per-row path's lines."""
import asyncio
import zlib
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
import ujson
from tornado.httputil import HTTPHeaders
from tornado.tcpclient import TCPClient

from rucio_tornado.core.bulk import insert_rows
from rucio_tornado.core.replicas import listing
from rucio_tornado.db import atomic
from rucio_tornado.models import RSE, DID, Content, Replica, RSEProtocol, Scope
from rucio_tornado.web import streaming
from tests.test_replica_streaming import FILES, build_dataset, dechunk


@pytest.fixture
def dataset(db):
    return db.run_sync(build_dataset, FILES)


async def raw_get(base_url, token, path, accept_encoding=None, pause=0.0):
    """``(headers text, body chunks)`` of a GET on a raw HTTP/1.1 connection; with ``pause``,
    a slow reader (small reads, a pause between them)."""
    url = urlparse(base_url)
    stream = await TCPClient().connect(url.hostname, url.port)
    extra = f"Accept-Encoding: {accept_encoding}\r\n" if accept_encoding else ""
    await stream.write((f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                        f"X-Rucio-Auth-Token: {token}\r\n{extra}Connection: close\r\n\r\n"
                        ).encode())
    if pause:
        raw = bytearray()
        while True:
            try:
                raw += await stream.read_bytes(16384, partial=True)
            except Exception:   # StreamClosedError: the server finished
                break
            await asyncio.sleep(pause)
        raw = bytes(raw)
    else:
        raw = await stream.read_until_close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode().lower(), dechunk(body)


def gunzip_chunks(chunks):
    """Decode chunk by chunk; every chunk must decode to whole lines at once."""
    inflate = zlib.decompressobj(wbits=31)
    text = b""
    for chunk in chunks:
        text += inflate.decompress(chunk)
        assert text.endswith(b"\n")
    text += inflate.flush()
    assert inflate.eof
    return text


@pytest.mark.gen_test(timeout=60)
async def test_gzip_stream_decodes_to_the_same_lines_in_several_chunks(api, dataset, base_url):
    path = "/replicas/user.jdoe/ds"
    head, plain = await raw_get(base_url, api.token, path)
    assert "content-encoding" not in head
    assert "vary: accept-encoding" in head
    head, packed = await raw_get(base_url, api.token, path, "gzip, deflate")
    assert " 200 " in head.splitlines()[0]
    assert "transfer-encoding: chunked" in head
    assert "content-encoding: gzip" in head
    assert "vary: accept-encoding" in head
    assert "content-type: application/x-json-stream" in head
    assert len(packed) >= FILES // 1000
    assert gunzip_chunks(packed) == b"".join(plain)
    assert sum(map(len, packed)) * 4 < sum(map(len, plain))
    lines = [ujson.loads(line) for line in b"".join(plain).splitlines()]
    assert [line["name"] for line in lines] == dataset


@pytest.mark.gen_test(timeout=60)
async def test_gzip_refused_or_not_asked_for_is_identity(api, dataset, base_url):
    for accept in ("identity", "gzip;q=0", "deflate", "br"):
        head, chunks = await raw_get(base_url, api.token, "/replicas/user.jdoe/ds", accept)
        assert "content-encoding" not in head
        assert len(b"".join(chunks).splitlines()) == FILES


def test_accepts_gzip():
    assert streaming.accepts_gzip("gzip, deflate")
    assert streaming.accepts_gzip("deflate, GZIP;q=0.5")
    assert streaming.accepts_gzip("x-gzip")
    assert not streaming.accepts_gzip("gzip;q=0")
    assert not streaming.accepts_gzip("gzip;q=0.0, deflate")
    assert not streaming.accepts_gzip("identity")
    assert not streaming.accepts_gzip("")
    assert not streaming.accepts_gzip(None)


@pytest.mark.gen_test(timeout=120)
async def test_gzip_slow_reader_gets_everything(api, dataset, base_url):
    head, packed = await raw_get(base_url, api.token, "/replicas/user.jdoe/ds", "gzip",
                                 pause=0.002)
    assert "content-encoding: gzip" in head
    names = [ujson.loads(line)["name"] for line in gunzip_chunks(packed).splitlines()]
    assert names == dataset


class SlowClient:
    """A handler stand-in whose ``flush`` only completes when the test lets it."""

    def __init__(self, db):
        self.db = db
        self.request = SimpleNamespace(headers=HTTPHeaders({"Accept-Encoding": "gzip"}))
        self.headers, self.chunks, self.finished = {}, [], False
        self.gate = asyncio.Event()

    def set_header(self, name, value):
        self.headers[name] = value

    def write(self, chunk):
        self.chunks.append(chunk)

    async def flush(self):
        await self.gate.wait()

    def finish(self):
        self.finished = True


@pytest.mark.gen_test(timeout=60)
async def test_gzip_stream_waits_for_the_client(db):
    produced = []

    def source():
        for index in range(50):
            produced.append(index)
            yield [{"n": index * 100 + i} for i in range(100)]

    client = SlowClient(db)
    task = asyncio.ensure_future(streaming.write_stream(client, source()))
    await asyncio.sleep(0.3)
    # one chunk written and waiting for the client, at most one more batch prepared
    assert len(client.chunks) == 1 and len(produced) <= 2
    client.gate.set()
    assert await task == 5000
    assert client.finished and client.headers["Content-Encoding"] == "gzip"
    text = gunzip_chunks(client.chunks[:-1] + [client.chunks[-1]])
    assert [ujson.loads(line)["n"] for line in text.splitlines()] == list(range(5000))


@atomic
def build_varied_dataset():
    """Files that take every path of the line builder: plain ones (uniform batches), names to
    escape, several scopes, missing and mixed checksums, two replicas, a stored path, a
    non-hash RSE, other states."""
    plain = RSE.create(rse="PLAIN")
    other = RSE.create(rse="OTHER")
    ident = RSE.create(rse="IDENT", lfn2pfn_algorithm="identity")
    for rse in (plain, other, ident):
        RSEProtocol.create(rse_id=rse.id, scheme="https", hostname="h.example.org", port=443,
                           prefix="/data", impl="webdav", read_wan=1, read_lan=1)
    for scope in ("user.jdoe", "data18"):
        Scope.create(scope=scope, account="root")
    DID.create(scope="user.jdoe", name="ds", did_type="DATASET", account="root")
    files = []
    for i in range(2600):
        scope = "data18" if 1200 <= i < 1300 else "user.jdoe"
        name = f"f{i:05d}" + ('"q' if i == 7 else "\\b" if i == 1500 else "é" if i == 2100
                             else "")
        md5 = None if i < 1000 else f"{i:032x}"
        adler = f"{i:08x}" if i % 500 else ("ABC-1" if i == 2500 else None)
        files.append((scope, name, 100 + i, md5, adler))
    insert_rows(DID, ["scope", "name", "did_type", "account", "bytes", "md5", "adler32"],
                [(s, n, "FILE", "root", b, m, a) for s, n, b, m, a in files])
    insert_rows(Content, ["scope", "name", "child_scope", "child_name", "did_type",
                          "child_type", "bytes", "md5", "adler32"],
                [("user.jdoe", "ds", s, n, "DATASET", "FILE", b, m, a)
                 for s, n, b, m, a in files])
    rows = []
    for i, (s, n, b, m, a) in enumerate(files):
        rse = ident if 2300 <= i < 2350 else plain
        state = "COPYING" if i % 997 == 0 else "AVAILABLE"
        path = "/stored/path/" + n if i == 2400 else None
        rows.append((rse.id, s, n, b, m, a, path, state))
        if i % 331 == 0:
            rows.append((other.id, s, n, b, m, a, None, "AVAILABLE"))
    insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "md5", "adler32", "path",
                          "state"], rows)


@pytest.mark.gen_test(timeout=120)
async def test_uniform_batches_give_the_per_row_lines_byte_for_byte(api, db, monkeypatch):
    db.run_sync(build_varied_dataset)
    calls = []
    uniform = listing.LineBuilder._uniform_batch

    def counted(self, rows):
        out = uniform(self, rows)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(listing.LineBuilder, "_uniform_batch", counted)
    monkeypatch.setattr(db, "batch_size", 100)
    requests = [("GET", "/replicas/user.jdoe/ds?all_states=true", None),
                ("GET", "/replicas/user.jdoe/ds?all_states=true&resolve_parents=true", None),
                ("POST", "/replicas/list", {"dids": [{"scope": "user.jdoe", "name": "ds"}],
                                            "schemes": ["https"], "domain": "all"}),
                ("POST", "/replicas/list", {"dids": [{"scope": "user.jdoe", "name": "ds"}],
                                            "all_states": True,
                                            "ignore_availability": True})]
    for method, path, body in requests:
        fast = await api.request(method, path, body)
        assert fast.status == 200, fast
        monkeypatch.setattr(listing.LineBuilder, "uniform_batches", False)
        slow = await api.request(method, path, body)
        monkeypatch.setattr(listing.LineBuilder, "uniform_batches", True)
        assert fast.body == slow.body
        assert len(fast.lines()) > 2000
    assert any(calls) and not all(calls)     # both paths were taken
