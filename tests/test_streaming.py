"""The database batch iterator and the x-json-stream writer, on both databases."""
import pytest

from rucio_tornado.core.common import map_batches, row_mapper
from rucio_tornado.db import atomic
from rucio_tornado.models import DID, Scope


@atomic
def _make_dids(count):
    Scope.create(scope="s", account="root")
    DID.insert_many([{"scope": "s", "name": f"f{i:05d}", "did_type": "FILE", "account": "root",
                      "bytes": i} for i in range(count)]).execute()


def test_iter_query_walks_everything_in_batches(db):
    with db.peewee.connection_context():
        _make_dids(2345)
    query = DID.select(DID.scope, DID.name, DID.bytes).where(DID.scope == "s")
    batches = db.run_sync(lambda: list(db.iter_query(query, key=(DID.scope, DID.name),
                                                     batch_size=1000)))
    assert [len(b) for b in batches] == [1000, 1000, 345]
    names = [row[1] for batch in batches for row in batch]
    assert names == sorted(names) and len(set(names)) == 2345


def test_iter_query_close_releases_the_stream_connection(db):
    with db.peewee.connection_context():
        _make_dids(3000)
    query = DID.select(DID.scope, DID.name).where(DID.scope == "s")

    def read_one_batch_then_stop():
        batches = db.iter_query(query, key=(DID.scope, DID.name), batch_size=100)
        first = next(batches)
        batches.close()
        return len(first)
    assert db.run_sync(read_one_batch_then_stop) == 100
    if db.stream_pool is not None:
        assert db.stream_pool.in_use == 0


def test_row_mapper_converts_named_columns():
    to_dict = row_mapper(["a", "b", "c"], {"b": bool})
    assert to_dict((1, 0, None)) == {"a": 1, "b": False, "c": None}
    assert list(map_batches([[(1, 1, 2)]], to_dict)) == [[{"a": 1, "b": True, "c": 2}]]


@pytest.mark.gen_test
async def test_stream_of_an_empty_listing_is_an_empty_200(api):
    response = await api.get("/accounts/?account=nobody*")
    assert response.status == 200 and response.body == b""
    assert response.headers["Content-Type"] == "application/x-json-stream"
