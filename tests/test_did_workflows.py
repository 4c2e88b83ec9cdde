"""Issue 11, DID workflows at the handler level: the error classes of search filters, metadata
conventions, GUID lookup and archives, on both databases (the client-driven cases are in
``test_integration_did_workflows``)."""
from urllib.parse import urlencode

import pytest

from tests.test_dids import SCOPE, add, add_files, jdoe  # noqa: F401

pytestmark = pytest.mark.gen_test


def search(api, filters, **params):
    return api.get(f"/dids/{SCOPE}/dids/search?" + urlencode(dict(params, filters=filters)))


async def test_filter_syntax_errors(jdoe):  # noqa: F811
    for filters in ([{"name.gte": "ds*"}], [{"project.gt": "mc%"}], [{"run_number.gt.lt": 5}],
                    [{"name.gt": "a"}], [{"type.ne": "file"}], [{"run_number.gte": "5*"}]):
        response = await search(jdoe, filters)
        assert (response.status, response.exception_class) == (400, "DIDFilterSyntaxError"), \
            filters
    bad_type = await search(jdoe, [{"name": "*"}, {"type": "boxes"}])
    assert (bad_type.status, bad_type.exception_class) == (409, "UnsupportedOperation")


async def test_filters_per_group(jdoe, db):  # noqa: F811
    add_files(db, ["f1"])
    for name, meta in (("ds1", {"run_number": 5}), ("ds2", {})):
        assert (await add(jdoe, name, meta=meta)).status == 201

    async def names(filters, **params):
        response = await search(jdoe, filters, **params)
        assert response.status == 200, response
        return sorted(response.lines())
    assert await names([{"type": "all"}]) == ["ds1", "ds2", "f1"]
    assert await names([{"type": "file"}], type="dataset") == ["f1"]
    assert await names([{"name": "ds1"}, {"type": "file"}]) == ["ds1", "f1"]
    assert await names([{"run_number.ne": 5}], type="all") == ["ds2", "f1"]
    assert await names([{"run_number.lt": 5.5}]) == ["ds1"]
    assert await names([{"name": "%", "run_number.ne": "*"}]) == ["ds1", "ds2"]
    assert await names([{"name": "d%1"}]) == ["ds1"]


async def test_conventions_and_scope_order(api, jdoe):  # noqa: F811
    assert (await api.post("/meta_conventions/project",
                           {"key_type": "ALL", "value_type": "<class 'str'>"})).status == 201
    assert (await api.post("/meta_conventions/project/", {"value": "data18"})).status == 201
    assert (await api.post("/meta_conventions/datatype", {"key_type": "DATASET"})).status == 201
    assert (await api.post("/meta_conventions/datatype/", {"value": "AOD"})).status == 201
    assert (await add(jdoe, "p1", meta={"project": "mc16"})).status == 201
    assert (await jdoe.post(f"/dids/{SCOPE}/p1/meta/project", {"value": "other"})).status == 201
    bad = await add(jdoe, "d1", meta={"datatype": "RAW"})
    assert (bad.status, bad.exception_class) == (400, "InvalidObject")
    assert (await add(jdoe, "d2", meta={"datatype": "AOD"})).status == 201
    # the bulk creation does not run the dataset check (as in Rucio)
    bulk = await jdoe.post("/dids", [{"scope": SCOPE, "name": "d3", "type": "DATASET",
                                      "meta": {"datatype": "RAW"}}])
    assert bulk.status == 201
    unknown = await add(jdoe, "d4", scope="user.nosuch", meta={"datatype": "RAW",
                                                              "run_number": "abc"})
    assert (unknown.status, unknown.exception_class) == (404, "ScopeNotFound")
    no_rse = await add(jdoe, "d5", rse="NO_SUCH")
    assert (no_rse.status, no_rse.exception_class) == (404, "RSENotFound")


async def test_guid_and_archives(jdoe, db):  # noqa: F811
    add_files(db, ["a.zip", "m1", "plain"])
    assert (await add(jdoe, "ds1")).status == 201
    missing = await jdoe.get("/dids/0123/guid")
    assert (missing.status, missing.exception_class) == (404, "DataIdentifierNotFound")
    into_plain = await jdoe.post(f"/dids/{SCOPE}/plain/dids",
                                 {"dids": [{"scope": SCOPE, "name": "m1"}]})
    assert (into_plain.status, into_plain.exception_class) == (409, "UnsupportedOperation")
    a_dataset = await jdoe.post(f"/dids/{SCOPE}/a.zip/dids",
                                {"dids": [{"scope": SCOPE, "name": "ds1"}]})
    assert (a_dataset.status, a_dataset.exception_class) == (409, "UnsupportedOperation")
    no_bytes = await jdoe.post(f"/dids/{SCOPE}/a.zip/dids",
                               {"dids": [{"scope": SCOPE, "name": "new1"}]})
    assert (no_bytes.status, no_bytes.exception_class) == (400, "InvalidObject")
    body = {"dids": [{"scope": SCOPE, "name": "m1"}]}
    assert (await jdoe.post(f"/dids/{SCOPE}/a.zip/dids", body)).status == 201
    again = await jdoe.post(f"/dids/{SCOPE}/a.zip/dids", body)
    assert (again.status, again.exception_class) == (409, "FileAlreadyExists")
    listing = await jdoe.get(f"/archives/{SCOPE}/a.zip/files")
    assert [(f["scope"], f["name"]) for f in listing.lines()] == [(SCOPE, "m1")]
    # constituents are not the archive's DID content
    assert (await jdoe.get(f"/dids/{SCOPE}/a.zip/dids")).lines() == []
    assert (await jdoe.get(f"/dids/{SCOPE}/m1/parents")).lines() == []
