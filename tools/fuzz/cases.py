"""What the fuzz sends (issue 12, items 7 and 9), shared by ``tests/test_fuzz.py`` (bounded)
and ``tools/fuzz/run.py`` (long): every operation of ``GET /openapi.json`` with path parts,
query arguments and JSON bodies drawn by hypothesis from real names and malformed values, and
the targeted cases of item 7. A response is a *problem* when it is a 5xx, or an error without
the Rucio form (``ExceptionClass``/``ExceptionMessage`` headers and the JSON body).
"""
import json
import re
import urllib.parse

import requests
from hypothesis import strategies as st

ACCOUNT, SCOPE, RSE, DATASET, FILE, CONTAINER = "jdoe", "user.jdoe", "MOCK", "ds1", "f1", "c1"
CHAIN_DEPTH = 1000
DEEP = "(" * 1000 + RSE + ")" * 1000
UNIONS = "|".join([RSE] * 1000)

#: Strings that broke (or could break) one layer or another.
NASTY = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\x01\n\r", "%", "%00", "*", "..",
         "/", "a" * 300, "é", "🙂", "NaN", "1e999", "-1", "0", "9223372036854775808",
         "1e308", "true", "null", "[]", "{}", "(", "(((" + RSE, RSE + "|", "\\", "'", '"',
         "%2F", "2026-13-45", "Wed, 32 Foo 2026", DEEP, UNIONS]
#: Names that exist after :func:`seed` (so the fuzz gets past the 404s).
REAL = [ACCOUNT, SCOPE, RSE, DATASET, FILE, CONTAINER, "root", "DATASET", "FILE", "CONTAINER",
        "root", "local", "key1", "1", "10", "true", "ALL", "mock.cern.ch", "UNIONS", "chain0"]
NUMBERS = [0, 1, -1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, 1e308,
           -1e308, 0.5, 1e-320]
#: Keys the handlers and the core read from bodies (a vocabulary, not a schema).
KEYS = ["scope", "name", "rse", "rses", "rse_expression", "account", "accounts", "bytes",
        "files", "dids", "did", "replicas", "state", "states", "lifetime", "copies", "type",
        "did_type", "meta", "key", "value", "values", "expires_at", "updated_after", "pfn",
        "pfns", "adler32", "md5", "reason", "grouping", "weight", "locked", "comment",
        "activity", "notify", "purge_replicas", "source_replica_expression", "attachments",
        "rule_id", "options", "filters", "limit", "email", "identity", "authtype", "default",
        "password", "hostname", "port", "scheme", "prefix", "impl", "domains", "distance",
        "used", "free", "files_count", "tombstone", "ignore_duplicate", "ignore_availability",
        "force", "recursive", "long", "dataset", "datasets", "rse_id", "deterministic",
        "volatile", "city", "country_name", "availability_write", "exceptions", "pattern",
        "subscription_id", "policy", "status", "open", "monotonic", "statuses", "parent"]

_text = st.one_of(st.sampled_from(NASTY + REAL), st.text(max_size=12))
_scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(NUMBERS),
                     st.integers(), st.floats(allow_nan=False, allow_infinity=False), _text)


def _json_values():
    return st.recursive(_scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)), max_leaves=12)


JSON_VALUES = _json_values()
#: Bodies: mostly objects with known keys, sometimes lists of them, sometimes broken text.
RAW_BODIES = [b"", b"{", b"[1,", b"\xff\xfe", b'{"scope": "\xed\xa0\x80"}', b"NaN",
              b'{"bytes": 1e999}', b'{"lifetime": NaN}', b"[" * 2000 + b"]" * 2000,
              b'{"a":' * 1000 + b"1" + b"}" * 1000, b"null", b"123", b'"text"']


def _shape(schema):
    """The object schema of a body (an ``anyOf`` body: its object), and its item schema."""
    branches = schema.get("anyOf", [schema])
    an_object = next((b for b in branches if b.get("type") == "object"), {})
    an_array = next((b for b in branches if b.get("type") == "array"), None)
    return an_object, (an_array or {}).get("items", {})


def _objects(schema):
    """Objects with the schema's own keys (most of the time) and the shared vocabulary's (an
    unknown key now and then), values right or wrong."""
    names = sorted(schema.get("properties", {}))
    keys = st.one_of(st.sampled_from(names), st.sampled_from(KEYS)) if names \
        else st.sampled_from(KEYS)
    return st.dictionaries(keys, JSON_VALUES, max_size=8)


def body_strategy(schema):
    """Bodies drawn from the operation's request schema (``GET /openapi.json``)."""
    an_object, items = _shape(schema)
    objects = _objects(an_object)
    item_objects = _objects(items)
    parts = [objects, st.lists(item_objects, max_size=3), JSON_VALUES]
    if schema.get("type") == "array":
        parts = [st.lists(item_objects, max_size=3), objects, JSON_VALUES]
    encoded = st.one_of(*parts).map(lambda value: json.dumps(value).encode())
    return st.one_of(encoded, encoded, encoded, st.sampled_from(RAW_BODIES))


def operations(document):
    """``[(method, template, path names, query names, body schema or None, arbitrary)]``."""
    out = []
    for template, item in sorted(document["paths"].items()):
        for method, op in item.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            out.append((method.upper(), template,
                        [p["name"] for p in params if p["in"] == "path"],
                        [p["name"] for p in params if p["in"] == "query"],
                        body.get("schema") if "requestBody" in op else None,
                        bool(op.get("x-arbitrary-query"))))
    return out


def quote(text):
    """A path part or query value percent-encoded; lone surrogates as their UTF-8 bytes."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def fuzz_request(draw, operation):
    """``(method, path with query, body bytes or None)`` for one operation."""
    method, template, path_names, query_names, schema, arbitrary = operation
    path = template
    for name in path_names:
        path = path.replace("{" + name + "}", quote(draw(_text)), 1)
    names = list(query_names) + (KEYS[:12] if arbitrary else [])
    query = draw(st.dictionaries(st.sampled_from(names), _text, max_size=3)) if names else {}
    if query:
        path += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
    body = draw(body_strategy(schema)) if schema is not None else None
    return method, path, body


class Cut:
    """What :func:`send` returns when the server cut the connection (or never answered)."""
    status_code, headers = 599, {}

    def __init__(self, method, url, body, error):
        self.request = requests.Request(method, url, data=body).prepare()
        self.text = f"connection cut: {type(error).__name__}"


def send(session, url, method, path, body=None, token=None):
    headers = {"X-Rucio-Auth-Token": token} if token else {}
    try:
        return session.request(method, url + path, data=body, headers=headers, timeout=60,
                               allow_redirects=False)
    except requests.RequestException as exc:
        return Cut(method, url + path, body, exc)


def problem(response):
    """Why ``response`` breaks the contract, or None."""
    status = response.status_code
    if isinstance(response, Cut):
        return response.text
    if status >= 500 and status != 501:
        return f"{status} {response.headers.get('ExceptionClass')}"
    if status < 400 or response.request.method == "HEAD":
        return None
    name = response.headers.get("ExceptionClass")
    if not name or "ExceptionMessage" not in response.headers:
        return f"{status} without the Rucio headers"
    if response.headers.get("Content-Type", "").startswith("text/html"):
        return None         # a browser's page (Rucio's /auth/oidc_code): the headers say it
    try:
        body = response.json()
    except ValueError:
        return f"{status} {name} without a JSON body"
    if not isinstance(body, dict) or body.get("ExceptionClass") != name or \
            not isinstance(body.get("ExceptionMessage"), str):
        return f"{status} {name} with a body not in Rucio form"
    return None


# -- the state the fuzz works on ----------------------------------------------------------------
def login(url, username="ddmlab", password="secret"):
    response = requests.get(url + "/auth/userpass", headers={
        "X-Rucio-Account": "root", "X-Rucio-Username": username, "X-Rucio-Password": password})
    response.raise_for_status()
    return response.headers["X-Rucio-Auth-Token"]


def _ok(response):
    if response.status_code >= 400:
        raise RuntimeError(f"seeding failed: {response.status_code} {response.text[:300]}")


def seed(session, url, token):
    """An account, a scope, an RSE with a protocol, a container over a dataset over a file
    with a replica and a rule, and a chain of CHAIN_DEPTH containers ``chain0 > chain1 > ...``
    ending in the dataset."""
    def call(method, path, body=None):
        _ok(send(session, url, method, path, None if body is None else json.dumps(body), token))
    call("POST", f"/accounts/{ACCOUNT}", {"type": "USER", "email": "j@example.org"})
    call("POST", f"/scopes/{ACCOUNT}/{SCOPE}")
    call("POST", f"/rses/{RSE}", {})
    call("POST", f"/rses/{RSE}/protocols/root", {"hostname": "mock.cern.ch", "port": 443,
                                                  "prefix": "/p", "impl": "x"})
    for account in (ACCOUNT, "root"):
        call("POST", f"/accounts/{account}/limits/local/{RSE}", {"bytes": 10 ** 12})
    call("POST", "/dids", [{"scope": SCOPE, "name": DATASET, "type": "DATASET"},
                           {"scope": SCOPE, "name": CONTAINER, "type": "CONTAINER"}] +
         [{"scope": SCOPE, "name": f"chain{i}", "type": "CONTAINER"}
          for i in range(CHAIN_DEPTH)])
    call("POST", "/replicas", {"rse": RSE, "files": [
        {"scope": SCOPE, "name": FILE, "bytes": 10, "adler32": "0cc737eb"}]})
    call("POST", f"/dids/{SCOPE}/{DATASET}/dids", {"dids": [{"scope": SCOPE, "name": FILE}]})
    call("POST", f"/dids/{SCOPE}/{CONTAINER}/dids", {"dids": [{"scope": SCOPE, "name": DATASET}]})
    # the chain in one bulk call of CHAIN_DEPTH nested attachments
    call("POST", "/dids/attachments", {"attachments": [
        {"scope": SCOPE, "name": f"chain{i}", "dids": [{"scope": SCOPE, "name": child}]}
        for i, child in enumerate([f"chain{i}" for i in range(1, CHAIN_DEPTH)] + [DATASET])]})
    call("POST", "/rules", {"dids": [{"scope": SCOPE, "name": DATASET}], "copies": 1,
                            "rse_expression": RSE, "account": "root"})


# -- the targeted cases of item 7 ---------------------------------------------------------------
def _j(value):
    return json.dumps(value).encode()


def targeted():
    """``[(method, path, body)]``: each must be a 4xx Rucio error that changes nothing."""
    did = {"scope": SCOPE, "name": FILE}
    big = [2 ** 63, 2 ** 64, -2 ** 63 - 1, 1e308, -1e308]
    cases = [
        # NUL in path parts, queries and JSON strings
        ("GET", f"/accounts/{quote('a' + chr(0))}", None),
        ("GET", f"/dids/{SCOPE}/{quote(chr(0))}", None),
        ("GET", f"/rses/{quote('M' + chr(0))}/attr", None),
        ("GET", f"/dids/{SCOPE}/?name={quote('x' + chr(0))}", None),
        ("GET", f"/rses?expression={quote(RSE + chr(0))}", None),
        ("GET", f"/dids/{SCOPE}/dids/search?name={quote(chr(0))}", None),
        ("POST", "/dids", _j([{"scope": SCOPE, "name": "n\x00", "type": "DATASET"}])),
        ("POST", f"/accounts/{quote('x' + chr(0))}", _j({"type": "USER", "email": "a"})),
        ("POST", "/replicas", _j({"rse": RSE, "files": [
            {"scope": SCOPE, "name": "new\x00", "bytes": 1, "adler32": "0cc737eb"}]})),
        ("POST", "/rules", _j({"dids": [did], "copies": 1, "rse_expression": RSE + "\x00",
                               "account": "root"})),
        ("POST", f"/dids/{SCOPE}/{DATASET}/meta/key1", _j({"value": "v\x00"})),
        ("PUT", f"/accounts/{ACCOUNT}", _j({"email": "\x00"})),
        # lone surrogates
        ("POST", "/dids", _j([{"scope": SCOPE, "name": "\ud800", "type": "DATASET"}])),
        ("POST", f"/dids/{SCOPE}/{DATASET}/meta/key1", _j({"value": "\ud800"})),
        ("GET", f"/accounts/{quote(chr(0xd800))}", None),
        ("PUT", f"/accounts/{ACCOUNT}", _j({"email": "\udfff"})),
        # "rse": [] in PUT /accounts/{a}/limits; state / rse as list or dict
        ("PUT", f"/accounts/{ACCOUNT}/limits", _j({"rse": [], "bytes": 1})),
        ("PUT", f"/accounts/{ACCOUNT}/limits", _j({"rse": {}, "bytes": 1})),
        ("PUT", "/replicas", _j({"rse": RSE, "files": [dict(did, state=["A"])]})),
        ("PUT", "/replicas", _j({"rse": RSE, "files": [dict(did, state={"x": 1})]})),
        ("POST", "/replicas/tombstone", _j({"replicas": [dict(did, rse=[RSE])]})),
        ("POST", "/replicas/tombstone", _j({"replicas": [dict(did, rse={"a": 1})]})),
        ("POST", "/replicas/bad", _j({"replicas": [dict(did, rse=[RSE])], "reason": "r"})),
        ("POST", "/replicas/bad", _j({"replicas": [dict(did, rse={"a": 1})], "reason": "r"})),
        ("POST", "/replicas/bad/dids", _j({"rse": [RSE], "dids": [did]})),
        ("POST", "/replicas/bad/dids", _j({"rse": {}, "dids": [did]})),
        # NaN / infinity as text
        ("POST", "/rules", _j({"dids": [did], "copies": 1, "rse_expression": RSE,
                               "account": "root", "lifetime": "NaN"})),
        ("POST", "/rules", _j({"dids": [did], "copies": 1, "rse_expression": RSE,
                               "account": "root", "lifetime": "1e999"})),
        ("POST", f"/dids/{SCOPE}/nan", _j({"type": "DATASET", "lifetime": "NaN"})),
        ("POST", f"/dids/{SCOPE}/inf", _j({"type": "DATASET", "lifetime": "1e999"})),
        ("POST", f"/dids/{SCOPE}/inf", b'{"type": "DATASET", "lifetime": 1e999}'),
        # RSE expressions nested 1000 deep, or with 1000 unions
        ("GET", f"/rses?expression={quote(DEEP)}", None),
        ("GET", f"/rses?expression={quote(UNIONS)}", None),
        ("POST", "/rules", _j({"dids": [did], "copies": 1, "rse_expression": DEEP,
                               "account": "root"})),
        ("POST", "/rules", _j({"dids": [did], "copies": 1, "rse_expression": UNIONS,
                               "account": "root"})),
        ("POST", f"/accounts/{ACCOUNT}/limits/global/{quote(DEEP)}", _j({"bytes": 1})),
        ("GET", f"/replicas/suspicious?rse_expression={quote(DEEP)}", None),
        # a value nested 1000 deep (its error message once recursed)
        ("POST", "/config", b'{"s": {"o": ' + b'{"a":' * 1000 + b"1" + b"}" * 1002),
    ]
    for number in big:
        cases += [
            ("POST", f"/accounts/{ACCOUNT}/limits/local/{RSE}", _j({"bytes": number})),
            ("PUT", f"/accounts/{ACCOUNT}/limits", _j({"rse": RSE, "bytes": number})),
            ("POST", f"/accounts/{ACCOUNT}/limits/global/{RSE}", _j({"bytes": number})),
            ("POST", "/rules", _j({"dids": [did], "copies": 1, "rse_expression": RSE,
                                   "account": "root", "lifetime": number})),
            ("POST", "/rules", _j({"dids": [did], "copies": number, "rse_expression": RSE,
                                   "account": "root"})),
            ("POST", "/dids", _j([{"scope": SCOPE, "name": "big", "type": "DATASET",
                                   "lifetime": number}])),
            ("POST", f"/dids/{SCOPE}/bigds", _j({"type": "DATASET", "lifetime": number})),
            ("POST", "/replicas", _j({"rse": RSE, "files": [
                {"scope": SCOPE, "name": "bigf", "bytes": number, "adler32": "0cc737eb"}]})),
            ("PUT", f"/rses/{RSE}/usage", _j({"source": "x", "used": number, "free": 1})),
            ("PUT", f"/rses/{RSE}/limits", _j({"MinFreeSpace": number})),
            ("POST", "/replicas/bad/pfns", _j({"pfns": ["root://mock.cern.ch:443/p/x"],
                                               "reason": "r", "state": "BAD",
                                               "expires_at": number})),
            ("GET", f"/dids/{SCOPE}/dids/search?updated_after={number}", None),
            ("GET", f"/requests/history/list?updated_after={number}", None),
            ("POST", "/lifetime_exceptions", _j({"dids": [did], "pattern": "", "comments": "c",
                                                 "expires_at": number})),
            ("PUT", f"/dids/{SCOPE}/{DATASET}/status", _j({"open": False, "lifetime": number})),
        ]
    return cases


#: Requests that may succeed or be refused, never a 5xx or a cut stream: big numbers where
#: they are harmless, and recursive listings on the CHAIN_DEPTH-deep chain.
CHAIN_LISTINGS = [
    ("GET", f"/accounts/{ACCOUNT}/usage/global/{quote(UNIONS)}", None),
    ("GET", f"/dids/{SCOPE}/dids/search?limit={2 ** 64}", None),
    ("GET", f"/replicas/bad/states?limit={2 ** 63}", None),
    ("GET", f"/dids/{SCOPE}/?recursive=true", None),
    ("GET", f"/dids/{SCOPE}/?name=chain0&recursive=true", None),
    ("GET", f"/dids/{SCOPE}/chain0/files", None),
    ("GET", f"/dids/{SCOPE}/{FILE}/parents", None),
    ("GET", f"/replicas/{SCOPE}/chain0", None),
    ("POST", "/replicas/list", _j({"dids": [{"scope": SCOPE, "name": "chain0"}]})),
    ("POST", "/dids/bulkfiles", _j({"dids": [{"scope": SCOPE, "name": "chain0"}]})),
    ("GET", f"/dids/{SCOPE}/chain0/rules", None),
    ("GET", f"/dids/{SCOPE}/{FILE}/associated_rules", None),
    ("GET", f"/replicas/{SCOPE}/chain0/datasets?deep=true", None),
    ("GET", f"/redirect/{SCOPE}/chain0/metalink", None),
    ("POST", "/rules", _j({"dids": [{"scope": SCOPE, "name": "chain0"}], "copies": 1,
                           "rse_expression": RSE, "account": "root"})),
    ("DELETE", f"/dids/{SCOPE}/chain0", None),
]


def fingerprint(session, url, token):
    """What the targeted cases must leave unchanged: listings of the seeded state."""
    paths = [f"/accounts/{ACCOUNT}/limits", f"/accounts/{ACCOUNT}", "/rules/",
             f"/dids/{SCOPE}/?recursive=true", f"/replicas/{SCOPE}/{DATASET}", f"/rses/{RSE}/usage",
             f"/rses/{RSE}/limits", "/replicas/bad/states", "/lifetime_exceptions"]
    out = {}
    for path in paths:
        response = send(session, url, "GET", path, token=token)
        out[path] = (response.status_code, sorted(re.sub(r'"(updated_at|accessed_at)":("[^"]*"|null)',
                                                         "", line)
                                                  for line in response.text.splitlines()))
    return out
