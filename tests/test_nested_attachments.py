"""Nested attachments in one ``POST /dids/attachments`` call (issue 12): the cycle check of the
whole call is one read of the graph above its parents plus the call's own links, so a chain of
1000 containers built in one call is fast, and a cycle closed inside the call (or against the
stored graph) is refused with nothing stored."""
import time

import pytest

from tests.conftest import count_rows
from rucio_tornado.models import Content

pytestmark = pytest.mark.gen_test(timeout=120)
DEPTH = 1000


async def _containers(api, names):
    response = await api.post("/dids", [{"scope": "nest", "name": n, "type": "CONTAINER"}
                                        for n in names])
    assert response.status == 201, response.text


def _links(pairs):
    return {"attachments": [{"scope": "nest", "name": p, "dids": [{"scope": "nest", "name": c}]}
                            for p, c in pairs]}


async def _scope(api):
    assert (await api.post("/accounts/root/scopes/nest")).status == 201
    return api


async def test_a_chain_of_1000_in_one_call_then_a_cycle_is_refused(api, db):
    nest = await _scope(api)
    names = [f"c{i}" for i in range(DEPTH)]
    await _containers(nest, names)
    started = time.monotonic()
    response = await nest.post("/dids/attachments", _links(zip(names, names[1:])))
    elapsed = time.monotonic() - started
    assert response.status == 201, response.text
    assert elapsed < 60, elapsed
    below = (await nest.get("/dids/nest/?name=c0&recursive=true")).lines()
    assert below[-1]["name"] == f"c{DEPTH - 1}" and below[-1]["level"] == DEPTH - 1
    # closing the chain, in a bulk call whose other attachments are fine: refused whole
    await _containers(nest, ["extra"])
    response = await nest.post("/dids/attachments",
                               _links([("c5", "extra"), (f"c{DEPTH - 1}", "c0")]))
    assert (response.status, response.exception_class) == (409, "UnsupportedOperation")
    assert f"nest:c0 is already a parent of nest:c{DEPTH - 1}" in \
        response.json()["ExceptionMessage"]
    assert count_rows(db, Content) == DEPTH - 1


@pytest.mark.parametrize("pairs", [
    [("a", "b"), ("b", "c"), ("c", "a")],            # a ring made inside the call
    [("a", "b"), ("b", "a")],
    [("c", "a"), ("a", "b"), ("b", "c")],             # the same, other order
])
async def test_a_cycle_made_inside_one_call_is_refused(api, db, pairs):
    nest = await _scope(api)
    await _containers(nest, ["a", "b", "c"])
    response = await nest.post("/dids/attachments", _links(pairs))
    assert (response.status, response.exception_class) == (409, "UnsupportedOperation")
    assert "Circular attachment detected" in response.json()["ExceptionMessage"]
    assert count_rows(db, Content) == 0


async def test_many_containers_into_one_and_a_diamond_are_fine(api, db):
    nest = await _scope(api)
    names = [f"k{i}" for i in range(300)]
    await _containers(nest, ["top", "left", "right", "bottom"] + names)
    response = await nest.post("/dids/attachments", _links(
        [("top", n) for n in names] + [("top", "left"), ("top", "right"),
                                       ("left", "bottom"), ("right", "bottom")]))
    assert response.status == 201, response.text
    response = await nest.post("/dids/attachments", _links([("bottom", "k7")]))
    assert response.status == 201, response.text     # k7 is below top, not above bottom
    response = await nest.post("/dids/attachments", _links([("k7", "top")]))
    assert (response.status, response.exception_class) == (409, "UnsupportedOperation")
