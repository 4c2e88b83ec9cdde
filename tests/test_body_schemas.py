"""Request bodies against their declared schemas (issue 12, item 9): every verb that reads a
body declares one, ``GET /openapi.json`` shows that very schema, and a wrong type or an unknown
key is a 400 naming the field that changes nothing (on SQLite and PostgreSQL)."""
import time

import pytest

from rucio_tornado import exceptions
from rucio_tornado.models import DID, Account, Content, Replica, Rule, RSEAttribute
from rucio_tornado.web import openapi, schemas
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.replicas import ReplicasHandler
from rucio_tornado.web.routes import ROUTES
from rucio_tornado.web.unsupported import UnsupportedHandler, handles
from tests.test_rules import add_rule, in_db, make_dataset, world  # noqa: F401

VERBS = ("get", "head", "post", "put", "patch", "delete")


def _verbs():
    for route in ROUTES:
        handler = route[1]
        if isinstance(handler, type) and issubclass(handler, BaseHandler) and \
                handler is not UnsupportedHandler:
            for verb in VERBS:
                if handles(handler, verb):
                    yield handler, verb


def test_every_verb_that_reads_a_body_declares_its_schema():
    missing = sorted({f"{handler.__name__}.{verb}" for handler, verb in _verbs()
                      if openapi.reads_body(handler, verb) and
                      schemas.body_of(handler, verb) is None})
    assert not missing, missing
    declared = [(h, v) for h, v in _verbs() if schemas.body_of(h, v) is not None]
    assert len(declared) > 80


def test_the_openapi_request_body_is_the_validation_schema():
    document = openapi.document(tuple(ROUTES))
    assert document["openapi"] == "3.1.0"
    by_id = {op["operationId"]: op for item in document["paths"].values()
             for op in item.values()}
    seen = 0
    for handler, verb in _verbs():
        body, operation = schemas.body_of(handler, verb), by_id.get(f"{handler.__name__}.{verb}")
        if operation is None:
            continue
        if body is None:
            assert "requestBody" not in operation, operation["operationId"]
            continue
        request_body = operation["requestBody"]
        assert request_body["content"]["application/json"]["schema"] is body.schema
        assert request_body["required"] is (body.empty is None)
        seen += 1
    assert seen > 80
    files = by_id["ReplicasHandler.post"]["requestBody"]["content"]["application/json"]
    assert files["schema"]["required"] == ["rse", "files"]
    assert "adler32" in files["schema"]["properties"]["files"]["items"]["properties"]


@pytest.mark.parametrize("data, cls, message", [
    ({"files": []}, exceptions.MissingKey, "'rse' not defined"),
    ({"rse": 3, "files": []}, exceptions.InvalidJSONType, "rse must be a string"),
    ({"rse": "X", "files": {}}, exceptions.InvalidJSONType, "files must be a list"),
    ({"rse": "X", "files": [], "colour": 1}, exceptions.InvalidObject,
     "Unknown key(s) in body: colour"),
    ({"rse": "X", "files": [{"scope": "s", "name": "n"}, {"name": "n", "size": 1}]},
     exceptions.InvalidObject, "Unknown key(s) in files[1]: size"),
    ([], exceptions.InvalidJSONType, "body must be a json dictionary"),
])
def test_refusals_name_the_field(data, cls, message):
    with pytest.raises(cls) as refused:
        schemas.body_of(ReplicasHandler, "post").check(data)
    assert refused.value.message == message and refused.value.status == 400


def test_refusals_of_nested_and_either_bodies():
    attachments = schemas.body_of(openapi_handler("AttachmentsHandler"), "post")
    with pytest.raises(exceptions.InvalidObject, match=r"attachments\[0\]\.dids\[1\]: x"):
        attachments.check({"attachments": [{"scope": "s", "name": "d", "dids": [
            {"scope": "s", "name": "a"}, {"scope": "s", "name": "b", "x": 1}]}]})
    with pytest.raises(exceptions.InvalidObject, match=r"body\[0\]: colour"):
        attachments.check([{"scope": "s", "name": "d", "dids": [], "colour": "red"}])
    with pytest.raises(exceptions.InvalidJSONType, match="dictionary or list"):
        attachments.check("text")
    assert attachments.check([{"scope": 3}]) == [{"scope": 3}]     # values: the core's
    update = schemas.body_of(openapi_handler("RuleByIdHandler"), "put")
    with pytest.raises(exceptions.InvalidRuleOption, match="options: colour"):
        update.check({"options": {"lifetime": 1, "colour": 1}})
    with pytest.raises(exceptions.InvalidJSONType, match="options must be an object"):
        update.check({"options": []})
    # optional typed keys take null (the clients send None for what they leave out)
    meta = schemas.body_of(openapi_handler("DIDMetaHandler"), "post")
    assert meta.check({"meta": {"a": 1}, "recursive": None})


def test_bulk_items_are_checked_without_the_generic_validator():
    files = [{"scope": "user.jdoe", "name": f"f{i}", "bytes": 1, "adler32": "0cc737eb",
              "md5": None, "meta": {"guid": "x"}} for i in range(100_000)]
    body = schemas.body_of(ReplicasHandler, "post")
    started = time.perf_counter()
    body.check({"rse": "MOCK", "files": files, "ignore_availability": True})
    # ~0.4 µs a file on the development machine; 1 s would be 10 µs
    assert time.perf_counter() - started < 1.0
    files[77_777]["colour"] = "red"
    with pytest.raises(exceptions.InvalidObject, match=r"files\[77777\]: colour"):
        body.check({"rse": "MOCK", "files": files})


def openapi_handler(name):
    return next(handler for handler, _ in _verbs() if handler.__name__ == name)


# -- over HTTP: 400 naming the field, nothing changed ------------------------------------------
def _counts(db):
    return in_db(db, lambda: tuple(model.select().count() for model in (
        DID, Account, Content, Replica, Rule, RSEAttribute)))


@pytest.mark.gen_test
async def test_wrong_types_and_unknown_keys_are_400s_that_change_nothing(api, db, world):  # noqa: F811
    in_db(db, lambda: make_dataset("user.jdoe", "ds1", 2, replicas=[world["SITE-A"]]))
    rule_id = await add_rule(api, "user.jdoe", "ds1", "SITE-B")
    before = _counts(db)
    file = {"scope": "user.jdoe", "name": "new1", "bytes": 1, "adler32": "0cc737eb"}
    did = {"scope": "user.jdoe", "name": "ds1.f000000"}
    cases = [
        ("POST", "/replicas", {"rse": "SITE-A", "files": [file, dict(file, name="n2", sz=1)]},
         400, "InvalidObject", "files[1]: sz"),
        ("POST", "/replicas", {"rse": 3, "files": [file]}, 400, "TypeError", "rse"),
        ("POST", "/replicas", {"rse": "SITE-A", "files": [file], "colour": 1}, 400,
         "InvalidObject", "colour"),
        ("POST", "/dids/attachments", {"attachments": [{"scope": "user.jdoe", "name": "ds1",
                                                         "dids": [dict(file, x=1)]}]},
         400, "InvalidObject", "attachments[0].dids[0]: x"),
        ("POST", "/dids/attachments", {"attachments": "x"}, 400, "TypeError", "attachments"),
        ("POST", "/dids/user.jdoe/ds1/dids", {"dids": [did, {"scope": "user.jdoe",
                                                              "name": "b", "sise": 2}]},
         400, "InvalidObject", "dids[1]: sise"),
        ("POST", "/dids", [{"scope": "user.jdoe", "name": "d2", "type": "DATASET",
                            "colour": "red"}], 400, "InvalidObject", "colour"),
        ("POST", "/dids/user.jdoe/d3", {"type": "DATASET", "meta": "x"}, 400, "TypeError",
         "meta"),
        ("POST", "/dids/user.jdoe/d3", {"type": "DATASET", "colour": 1}, 400, "InvalidObject",
         "colour"),
        ("POST", "/dids/user.jdoe/ds1/meta", {"meta": {"a": 1}, "recursive": "yes"}, 400,
         "TypeError", "recursive"),
        ("POST", "/replicas/list", {"dids": [did], "schemes": "root"}, 400, "TypeError",
         "schemes"),
        ("POST", "/accounts/newone", {"type": "USER", "email": "a@b.c", "colour": 1}, 400,
         "InvalidObject", "colour"),
        ("POST", "/accounts/jdoe/identities", {"identity": 5, "authtype": "USERPASS",
                                               "email": "a@b.c"}, 400, "TypeError", "identity"),
        ("POST", "/rses/SITE-A/attr/colour", {"value": "red", "extra": 1}, 400,
         "InvalidObject", "extra"),
        ("POST", "/rules/", {"dids": [did], "copies": 1, "rse_expression": "SITE-A",
                             "account": "jdoe", "colour": 1}, 409, "InvalidObject", "colour"),
        ("PUT", f"/rules/{rule_id}", {"options": {"colour": 1}}, 409, "InputValidationError",
         "colour"),
        ("PUT", "/dids/user.jdoe/ds1/status", {"open": False, "colour": 1}, 409,
         "UnsupportedStatus", "colour"),
    ]
    for method, path, body, status, name, field in cases:
        response = await api.request(method, path, body)
        assert (response.status, response.exception_class) == (status, name), (path, body,
                                                                                response)
        assert field in response.json()["ExceptionMessage"], (path, response)
    assert _counts(db) == before
    # the same bodies without the mistake are served
    assert (await api.post("/replicas", {"rse": "SITE-A", "files": [file]})).status == 201
    assert (await api.post("/rses/SITE-A/attr/colour", {"value": "red"})).status == 201
