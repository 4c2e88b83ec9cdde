"""DID search output, line for line: every search of a varied fixture gives exactly the
bytes recorded in ``tests/data/search_lines.json`` (recorded with the search code of before the
issue-15 speed-up), with 3-row pages so that every listing crosses page boundaries.

Regenerate (only when the expected output really changes):
``PYTHONPATH=$PWD RUCIO_TORNADO_RECORD_SEARCH_LINES=1 python -m pytest tests/test_did_search_lines.py``
"""
import json
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest

from rucio_tornado.models import DID
from tests.test_dids import SCOPE, add, add_files, attach, jdoe  # noqa: F401

pytestmark = pytest.mark.gen_test

EXPECTED = Path(__file__).parent / "data" / "search_lines.json"
RECORD = os.environ.get("RUCIO_TORNADO_RECORD_SEARCH_LINES") == "1"

#: (scope or None for all scopes, query arguments)
SEARCHES = [
    (SCOPE, {"type": "file", "long": "True", "filters": "[{'name': 'user.jdoe.*'}]"}),
    (SCOPE, {"type": "file", "filters": "[{'name': 'user.jdoe.*'}]"}),
    (SCOPE, {"type": "all", "long": "True", "filters": "[{'name': 'user.jdoe.*'}]"}),
    (SCOPE, {"type": "all", "long": "True", "filters": "[{'name': '*.root.1'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': '*_0*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'user.jdoe.*.root.*'}]"}),
    (SCOPE, {"type": "file", "filters": "[{'name': 'user.jdoe.f_01*'}]"}),
    (SCOPE, {"type": "file", "filters": "[{'name': 'user.jdoe.f%1'}]"}),
    (SCOPE, {"type": "file", "filters": "[{'name': 'user.jdoe.f_010.root.1'}]"}),
    (SCOPE, {"type": "file", "filters": "[{'name.ne': 'user.jdoe.f*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'Z*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'nomatch*'}]"}),
    (SCOPE, {"type": "all", "long": "True", "filters": "[{'name': '*'}]"}),
    (SCOPE, {"long": "True", "filters": "[{'name': 'ds.*'}]"}),
    (SCOPE, {"type": "collection", "filters": "[{'name': '*'}]"}),
    (SCOPE, {"type": "container"}),
    (SCOPE, {"type": "dataset", "long": "True"}),
    (SCOPE, {"name": "ds.*", "type": "dataset"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'ds.*'}, {'name': 'user.jdoe.f_00*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'ds.*', 'type': 'container'}, "
                                        "{'name': 'user.jdoe.f_02*', 'type': 'file'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'user.jdoe.f_00*'}, {'name': '*9.root.1'}]"}),
    (SCOPE, {"type": "dataset", "filters": "[{'run_number': 7}]"}),
    (SCOPE, {"type": "dataset", "filters": "[{'run_number.gte': 5, 'name': 'ds.*'}]"}),
    (SCOPE, {"type": "dataset", "filters": "[{'run_number.ne': 7}]"}),
    (SCOPE, {"type": "dataset", "long": "True", "filters": "[{'project': 'AOD'}]"}),
    (SCOPE, {"type": "dataset", "filters": "[{'project': 'A*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'stage': 'raw'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'stage': 'r*', 'name': 'ds.*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'stage.ne': 'raw'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'energy.gt': 6}]"}),
    (SCOPE, {"type": "all", "filters": "[{'energy.lte': '8.5'}, {'stage': 'reco'}]"}),
    (SCOPE, {"type": "file", "filters": "[{'bytes.gt': 1500}]"}),
    (SCOPE, {"type": "file", "long": "True", "filters": "[{'bytes.lte': 1200, "
                                                       "'name': 'user.jdoe.f_*'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'created_after': '2000-01-01T00:00:00'}]"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'ds.*'}]", "recursive": "True",
             "long": "True"}),
    (SCOPE, {"type": "container", "filters": "[{'name': '*'}]", "recursive": "True"}),
    (SCOPE, {"type": "file", "long": "True", "filters": "[{'name': 'user.jdoe.*'}]",
             "limit": "7"}),
    (SCOPE, {"type": "all", "filters": "[{'name': '*'}]", "limit": "3"}),
    (SCOPE, {"type": "all", "filters": "[{'name': 'ds.*'}]", "recursive": "True",
             "limit": "5"}),
    ("other.scope", {"type": "all", "long": "True", "filters": "[{'name': 'user.jdoe.*'}]"}),
    ("nosuch", {"type": "all", "filters": "[{'name': '*'}]"}),
    (None, {"type": "all", "long": "True", "filters": "[{'name': 'user.jdoe.f_00*'}]"}),
    (None, {"type": "all", "filters": "[{'name': '*.root.1'}]"}),
    (None, {"type": "dataset", "filters": "[{'stage': 'raw'}]"}),
]


async def populate(root, api, db):
    names = [f"user.jdoe.f_{i:03d}.root.1" for i in range(30)]
    add_files(db, names, size=1000)
    db.run_sync(lambda: DID.update(bytes=1700, length=2).where(
        DID.name << names[::3]).execute())
    add_files(db, ["Zfile", "user.jdoe.g_1.root.1", "user.jdoe.f%1", "user.jdoe.fx1"], size=7)
    datasets = [("ds.001", {"run_number": 5, "stage": "raw", "energy": 13, "project": "AOD"}),
                ("ds.002", {"run_number": 7, "stage": "reco", "energy": 7}),
                ("ds.003", {"run_number": 7, "project": "ESD"}),
                ("ds_004", {"stage": "raw", "energy": 8.5}),
                ("user.jdoe.ds_005", {"project": "AOD2"}),
                ("ds.hidden", {"stage": "raw"})]
    for name, meta in datasets:
        assert (await add(api, name, meta=meta)).status == 201
    for name in ("cont.a", "user.jdoe.cont_b"):
        assert (await add(api, name, kind="CONTAINER")).status == 201
    assert (await attach(api, "ds.001", names[:4])).status == 201
    assert (await attach(api, "ds.002", names[4:6])).status == 201
    assert (await attach(api, "cont.a", ["ds.001", "ds.003"])).status == 201
    assert (await attach(api, "user.jdoe.cont_b", ["cont.a"])).status == 201
    assert (await api.delete(f"/dids/{SCOPE}/ds.hidden")).status == 200
    assert (await root.post("/accounts/root/scopes/other.scope")).status == 201
    add_files(db, ["user.jdoe.f_001.root.1", "user.jdoe.zz"], scope="other.scope", size=3)


def url(scope, params):
    path = "/dids/" if scope is None else f"/dids/{scope}/dids/search"
    return path + "?" + urlencode(params)


async def test_search_lines_are_unchanged(api, jdoe, db, backend, monkeypatch):  # noqa: F811
    await populate(api, jdoe, db)
    monkeypatch.setattr(db, "batch_size", 3)
    got = {}
    for scope, params in SEARCHES:
        response = await jdoe.get(url(scope, params))
        assert response.status == 200, (scope, params, response)
        got[url(scope, params)] = response.text.splitlines(keepends=True)
    if RECORD:
        recorded = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
        recorded[backend] = got
        EXPECTED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    expected = json.loads(EXPECTED.read_text())[backend]
    assert sorted(got) == sorted(expected)
    for key, lines in got.items():
        assert lines == expected[key], key
