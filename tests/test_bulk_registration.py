"""A bulk call's memory is given back once it is done (``bulk.release_memory`` after bodies
of ``RELEASE_BODY_BYTES`` or more): no functional change, for the call or the ones after it."""
import asyncio

import pytest

from rucio_tornado.core import bulk
from rucio_tornado.models import DID, DIDMeta, Replica
from tests.conftest import count_rows
from tests.test_replicas import add, did, files, listing, world  # noqa: F401 (fixture)


@pytest.mark.gen_test(timeout=120)
async def test_big_registration_releases_memory_and_changes_nothing(api, world, db,  # noqa: F811
                                                                    monkeypatch):
    calls = []
    release = bulk.release_memory

    def counted():
        calls.append(True)
        release()

    monkeypatch.setattr(bulk, "release_memory", counted)
    names = [f"user.jdoe.bulk.{i:06d}.pool.root.1" for i in range(12_000)]
    await add(api, "MOCK", files(*names, md5="0123456789abcdef0123456789abcdef"))
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0.05)
    assert calls == [True]
    assert count_rows(db, Replica) == len(names)
    await add(api, "MOCK", files("small"))          # a small body: nothing to release
    await asyncio.sleep(0.2)
    assert calls == [True]
    lines = await listing(api, [did(names[0]), did(names[-1]), did("small")])
    assert [line["name"] for line in lines] == sorted([names[0], names[-1], "small"])
    await add(api, "MOCK", files(*names[:6000], "other"))  # existing ones again, one new
    assert count_rows(db, Replica) == len(names) + 2


def test_release_memory_outside_a_request(db, monkeypatch):
    refreshed = []
    monkeypatch.setattr(db, "refresh_statistics", lambda: refreshed.append(True))
    db.run_sync(bulk.release_memory)
    db.run_sync(bulk.release_memory)
    assert refreshed == [True, True]      # the planner statistics of what the call grew


def test_refresh_statistics_analyses_tables_that_doubled(db):
    """PostgreSQL: a table whose heap more than doubled since its last ANALYZE is analysed
    (its row estimate is then right), once; SQLite: nothing to do."""
    if not db.is_postgresql:
        assert db.run_sync(db.refresh_statistics) == []
        return
    sql = db.peewee.execute_sql

    def grow(rows):
        sql("CREATE TABLE IF NOT EXISTS stats_probe (id integer, label text)")
        sql("INSERT INTO stats_probe SELECT i, repeat('x', 40) FROM generate_series(1, %s) i",
            (rows,))

    try:
        db.run_sync(grow, 5000)
        assert "stats_probe" in db.run_sync(db.refresh_statistics)
        assert db.run_sync(lambda: sql("SELECT reltuples FROM pg_class "
                                       "WHERE relname = 'stats_probe'").fetchone()) == (5000,)
        assert "stats_probe" not in db.run_sync(db.refresh_statistics)
        db.run_sync(grow, 1000)                 # +20 %: the estimate is still good enough
        assert "stats_probe" not in db.run_sync(db.refresh_statistics)
    finally:
        db.run_sync(sql, "DROP TABLE IF EXISTS stats_probe")


@pytest.mark.gen_test(timeout=120)
async def test_big_calls_with_existing_files_meta_or_a_bad_item(api, world, db):  # noqa: F811
    """Calls of 1000 files or more first try the path without existence look-ups; whatever
    makes it not apply leaves nothing of it behind."""
    names = [f"big.{i:05d}" for i in range(1500)]
    await add(api, "MOCK", files(*names[:10]))
    await add(api, "MOCK", files(*names))                     # ten exist already
    assert count_rows(db, Replica) == 1500
    await add(api, "MOCK2", files(*names))                    # all files exist: replicas only
    assert count_rows(db, Replica) == 3000
    bad = files(*[f"bad.{i:05d}" for i in range(1500)])
    bad[1200]["bytes"] = -1
    response = await add(api, "MOCK", bad, status=400)
    assert "file 1200 (user.jdoe:bad.01200)" in response.headers["ExceptionMessage"]
    assert count_rows(db, Replica) == 3000
    with_meta = files(*[f"meta.{i:05d}" for i in range(1500)])
    with_meta[700]["meta"] = {"guid": "abc"}
    await add(api, "MOCK", with_meta)
    assert count_rows(db, Replica) == 4500
    lines = await listing(api, [did("meta.00700"), did("big.00003"), did("big.01499")])
    assert [sorted(line["states"]) for line in lines] == [["MOCK", "MOCK2"]] * 2 + [["MOCK"]]


@pytest.mark.gen_test(timeout=120)
async def test_files_with_and_without_meta_in_one_call(api, world, db):  # noqa: F811
    """A checked file without ``meta`` (absent, null or ``{}``) carries None, not a dict: the
    files with ``meta`` next to them still get their columns and keys."""
    items = files("plain") + files("empty", meta={}) + files("none", meta=None) + \
        files("rich", meta={"guid": "abc", "color": "red"})
    await add(api, "MOCK", items)
    with db.peewee.connection_context():
        guids = dict(DID.select(DID.name, DID.guid).where(DID.scope == "user.jdoe").tuples())
        assert {name: guids[name] for name in ("plain", "empty", "none", "rich")} == \
            {"plain": None, "empty": None, "none": None, "rich": "abc"}
        assert [(m.name, m.key) for m in DIDMeta.select()] == [("rich", "color")]
    big = files(*[f"bulk.{i:04d}" for i in range(1200)], meta={})   # the streamed path
    await add(api, "MOCK", big)
    assert count_rows(db, Replica) == 4 + 1200


def test_select_by_keys_finds_any_name(db):
    """PostgreSQL gets the names as one ``text[]`` literal: quotes, backslashes, commas and
    braces in names come back as they are (SQLite binds each name)."""
    names = ['plain', 'with"quote', 'back\\slash', 'a,b', '{braced}', 'sp ace', "it's", 'NULL']

    def run():
        bulk.insert_rows(DID, ["scope", "name", "did_type", "account"],
                         [("user.jdoe", n, "FILE", "root") for n in names])
        keys = [("user.jdoe", n) for n in names] + [("user.jdoe", "missing")]
        return sorted(name for _, name in bulk.select_by_keys(DID, (DID.scope, DID.name), keys))

    assert db.run_sync(run) == sorted(names)
    assert bulk.text_array(['x"y', "z\\"]) == '{"x\\"y","z\\\\"}'


def test_renewing_the_connection_cuts_no_stream_and_no_transaction(db):
    """SQLite: after a bulk call the executor opens its connection anew (what the old one kept
    goes with it); a stream between two pages and an open transaction are not cut.
    PostgreSQL: each executor call returns its pooled connection, nothing to renew."""
    def make():
        DID.insert_many([{"scope": "s", "name": f"n{i:04d}", "did_type": "FILE",
                          "account": "root"} for i in range(2500)]).execute()

    db.run_sync(make)
    pages = db.run_sync(lambda: db.iter_query(DID.select(DID.name).where(DID.scope == "s"),
                                              (DID.name,), batch_size=1000))
    first = db.run_sync(next, pages)

    before = db.run_sync(db.peewee.connection)      # kept: its id is not reused
    db.run_sync(db.renew_connection)
    after = db.run_sync(db.peewee.connection)
    if not db.is_postgresql:
        assert before is not after
    rest = db.run_sync(lambda: [row for page in pages for row in page])
    assert len(first) + len(rest) == 2500

    def inside_a_transaction():
        with db.peewee.atomic():
            kept = db.peewee.connection()
            db.renew_connection()                   # left alone: the transaction goes on
            DID.update(bytes=1).where(DID.scope == "s").execute()
            return kept is db.peewee.connection()

    assert db.run_sync(inside_a_transaction)
    assert db.run_sync(lambda: DID.select().where(DID.scope == "s", DID.bytes == 1).count()) \
        == 2500
