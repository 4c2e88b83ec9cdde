"""DID search: the client's filter format, operators, types, metadata keys, index use."""
from urllib.parse import urlencode

import pytest

from rucio_tornado.core.dids import search as did_search
from rucio_tornado.models import DID
from tests.test_dids import SCOPE, add, add_files, jdoe, make_owner  # noqa: F401

pytestmark = pytest.mark.gen_test


def search_url(scope=SCOPE, **params):
    return f"/dids/{scope}/dids/search?" + urlencode(params)


async def populate(api, db):
    add_files(db, ["f1", "f2"], size=100)
    for name, kind, meta in [("ds_001", "DATASET", {"run_number": 5, "stage": "raw", "energy": 13}),
                             ("ds_002", "DATASET", {"run_number": 9, "stage": "reco", "energy": 7}),
                             ("dsx003", "DATASET", {"stage": "raw"}),
                             ("cont1", "CONTAINER", {})]:
        assert (await add(api, name, kind=kind, meta=meta)).status == 201
    await api.post(f"/dids/{SCOPE}/ds_001/dids", {"dids": [{"scope": SCOPE, "name": "f1"}]})


async def names(api, **params):
    response = await api.get(search_url(**params))
    assert response.status == 200, response
    return sorted(response.lines())


async def test_name_wildcards_and_types(jdoe, db):  # noqa: F811
    await populate(jdoe, db)
    assert await names(jdoe, filters=[{"name": "ds_*"}]) == ["ds_001", "ds_002"]
    assert await names(jdoe, filters=[{"name": "*"}], type="all") == [
        "cont1", "ds_001", "ds_002", "dsx003", "f1", "f2"]
    assert await names(jdoe, filters=[{"name": "*"}], type="container") == ["cont1"]
    assert await names(jdoe, filters=[{"name": "f*"}], type="file") == ["f1", "f2"]
    assert await names(jdoe, filters=[{"name": "f*"}]) == []          # default: collections
    assert await names(jdoe, name="ds_00*") == ["ds_001", "ds_002"]  # bare query arguments
    bad = await jdoe.get(search_url(type="boxes"))
    assert (bad.status, bad.exception_class) == (409, "UnsupportedOperation")


async def test_operators_and_or_groups(jdoe, db):  # noqa: F811
    await populate(jdoe, db)
    assert await names(jdoe, filters=[{"run_number.gt": 6}]) == ["ds_002"]
    assert await names(jdoe, filters=[{"run_number.lte": "5"}]) == ["ds_001"]
    assert await names(jdoe, filters=[{"run_number.ne": 5, "name": "ds_*"}]) == ["ds_002"]
    assert await names(jdoe, filters=[{"run_number": 5}, {"run_number": 9}]) == ["ds_001", "ds_002"]
    assert await names(jdoe, filters=[{"stage": "raw"}]) == ["ds_001", "dsx003"]
    assert await names(jdoe, filters=[{"stage": "r*"}]) == ["ds_001", "ds_002", "dsx003"]
    assert await names(jdoe, filters=[{"energy.gte": "8"}]) == ["ds_001"]
    assert await names(jdoe, filters=[{"stage.ne": "raw"}]) == ["cont1", "ds_002"]
    assert await names(jdoe, filters=[{"created_after": "2000-01-01T00:00:00"}]) == [
        "cont1", "ds_001", "ds_002", "dsx003"]
    assert await names(jdoe, filters=[{"created_before": "Mon, 01 Jan 2001 00:00:00 UTC"}]) == []
    assert await names(jdoe, filters=[{"updated_at.gte": "2000-01-01"}], type="file") == ["f1", "f2"]


async def test_long_limit_and_recursive(jdoe, db):  # noqa: F811
    await populate(jdoe, db)
    response = await jdoe.get(search_url(filters=[{"name": "f1"}], type="file", long=True))
    assert response.lines() == [{"scope": SCOPE, "name": "f1", "did_type": "FILE",
                                 "bytes": 100, "length": None}]
    assert len((await jdoe.get(search_url(filters=[{"name": "*"}], type="all",
                                          limit=2))).lines()) == 2
    recursive = await names(jdoe, filters=[{"name": "ds_001"}], recursive=True)
    assert recursive == ["ds_001", "f1"]


async def test_syntax_errors(jdoe):  # noqa: F811
    for raw in ["[{'name': 'x'", "__import__('os')", "[1, 2]", "[{'run_number.foo': 1}]"]:
        response = await jdoe.get(f"/dids/{SCOPE}/dids/search?" + urlencode({"filters": raw}))
        assert (response.status, response.exception_class) == (400, "DIDFilterSyntaxError"), raw
    # issue 11: a search in an unknown scope is an empty listing, as in Rucio
    unknown = await jdoe.get(search_url(scope="nosuch"))
    assert (unknown.status, unknown.lines()) == (200, [])


async def test_search_over_all_scopes(api, jdoe, db):  # noqa: F811
    await populate(jdoe, db)
    assert (await api.post("/accounts/root/scopes/other.scope")).status == 201
    assert (await add(api, "ds_999", scope="other.scope")).status == 201
    response = await jdoe.get("/dids/?" + urlencode({"filters": [{"name": "ds_*"}],
                                                      "long": True}))
    got = sorted((line["scope"], line["name"]) for line in response.lines())
    assert got == [("other.scope", "ds_999"), (SCOPE, "ds_001"), (SCOPE, "ds_002")]


async def test_obsolete_dids_are_hidden(jdoe, db):  # noqa: F811
    await populate(jdoe, db)
    await jdoe.delete(f"/dids/{SCOPE}/ds_002")
    assert await names(jdoe, filters=[{"name": "ds_*"}]) == ["ds_001"]


def test_name_prefix_search_uses_the_index(db):
    """A name prefix search reads an index range, never the whole DID table."""
    make_owner(db)

    def plan():
        query = did_search.build_query(SCOPE, [{"name": "ds_001*"}], "all")
        sql, params = query.order_by(DID.scope, DID.name).limit(1000).sql()   # as iter_query
        prefix = "EXPLAIN QUERY PLAN " if db.kind == "sqlite" else "EXPLAIN "
        rows = db.peewee.execute_sql(prefix + sql, params).fetchall()
        return " ".join(str(r[-1] if db.kind == "sqlite" else r[0]) for r in rows)

    text = db.run_sync(plan)
    if db.kind == "sqlite":
        assert "SEARCH" in text and "INDEX" in text and "SCAN" not in text, text
        assert "name>?" in text and "name<?" in text, text
    else:
        def seqscan_off():
            db.peewee.execute_sql("SET enable_seqscan = off")
            try:
                return plan()
            finally:
                db.peewee.execute_sql("SET enable_seqscan = on")
        text = db.run_sync(seqscan_off)
        assert "Index" in text and "Seq Scan" not in text, text
        assert "Index Cond" in text and "(name)::text >=" in text, text
        assert "ds\\_001%" in text or "ds_001" in text, text


def test_sqlite_keyset_pages_start_at_the_last_name(db):
    """A prefix search's later pages cost what its first page costs (SQLite): each page
    starts at the last name of the one before, not at the prefix (counted in SQLite VM
    steps, never timed)."""
    if db.kind != "sqlite":
        pytest.skip("SQLite keyset pages")
    make_owner(db)
    add_files(db, [f"user.jdoe.f_{i:04d}" for i in range(2000)] + ["user.jdoe.g", "x.y"])

    def page_steps():
        first, sql, params = did_search.page_statements(SCOPE, [{"name": "user.jdoe.f_*"}],
                                                        "file", 20)
        conn = db.peewee.connection()
        steps = []

        def run(statement, values):
            count = [0]

            def tick():
                count[0] += 1
                return 0
            conn.set_progress_handler(tick, 10)
            try:
                rows = conn.execute(statement, values).fetchall()
            finally:
                conn.set_progress_handler(None, 0)
            steps.append(count[0])
            return rows

        rows = run(*first)
        for last in ("user.jdoe.f_0019", "user.jdoe.f_1899", "user.jdoe.f_1989"):
            page = run(sql, [last if p is did_search._After else p for p in params])
            assert page[0][1] > last and len(page) == (20 if last < "user.jdoe.f_1980" else 10)
        return rows, steps

    rows, steps = db.run_sync(page_steps)
    assert [r[1] for r in rows] == [f"user.jdoe.f_{i:04d}" for i in range(20)]
    assert max(steps[1:3]) < 3 * steps[0] + 50, steps
