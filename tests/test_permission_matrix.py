"""Every write route × every kind of caller, against the real server's generic policy.

The callers: root, an admin account (attribute ``admin=True``), the owner of what the request
concerns (the scope's, the rule's, the replica's, the account itself), another user, a
suspended account, no token and an expired token. A route of the table (``web/routes.py``)
with a POST/PUT/DELETE/PATCH handler and no row in :data:`MATRIX` fails
:func:`test_every_write_route_has_a_row`.

One world per database (accounts, scopes, RSEs, limits); each row's ``setup`` makes the object
one caller's request concerns (fresh for every caller, so an allowed request never spoils the
next). A refused request must change nothing: the row count and the latest ``updated_at`` of
every table, and the row's ``probe`` (a GET as root), are compared before and after.
"""
import itertools
import time

import jwt
import pytest

from rucio_tornado.models import ALL_MODELS
from rucio_tornado.web.routes import ROUTES
from rucio_tornado.web.unsupported import UnsupportedHandler, handles
from tests.conftest import TEST_SECRET

WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")
CALLERS = ("no token", "expired", "suspended", "other", "owner", "admin", "root")
#: what the callers who never get in are answered
LOCKED_OUT = {"no token": (400, "ValueError"), "expired": (401, "CannotAuthenticate"),
              "suspended": (401, "CannotAuthenticate")}
ACCESS_DENIED = (401, "AccessDenied")

ROOT, ADMIN, OWNER = {"root"}, {"root", "admin"}, {"root", "admin", "owner"}
EVERYONE = {"root", "admin", "owner", "other"}
NOBODY = set()

SCOPE, FILE_RSE, OTHER_RSE, LIMIT_RSE = "user.jdoe", "SITE_SCRATCHDISK", "SITE_DATADISK", \
    "LIMIT_DISK"
ADLER = "0cc737eb"
_counter = itertools.count()


def write_pairs():
    """``(pattern, METHOD)`` of every write handler of the route table."""
    pairs = []
    for route in ROUTES:
        handler = route[1]
        if handler is UnsupportedHandler or not isinstance(handler, type):
            continue
        pairs += [(route[0], method) for method in WRITE_METHODS if handles(handler, method)]
    return pairs


class Row:
    """One route × method: ``setup(api, tag)`` -> the request (``path``, optional ``body``,
    ``headers``, ``probe``, ``owner``); ``allowed`` the callers the policy lets through;
    ``answer``: what an allowed caller gets when it is not a 2xx (single-VO refusals)."""

    def __init__(self, allowed, setup, answer=None, public=False, every=None):
        self.allowed, self.setup, self.answer = allowed, setup, answer
        self.public = public        # needs no token: every caller is answered the same
        self.every = every          # what every authenticated caller gets (no cert: 400)


# -- request builders --------------------------------------------------------------------------
def tagged(prefix="x"):
    return f"{prefix}{next(_counter)}"


def rse_name():
    return f"RSE{next(_counter)}"


async def new_rse(api, name=None):
    name = name or rse_name()
    assert (await api.post(f"/rses/{name}")).status == 201
    return name


async def new_file(api, registrar="root", rse=FILE_RSE):
    name = tagged("file")
    response = await api.as_(registrar).post("/replicas", {"rse": rse, "files": [
        {"scope": SCOPE, "name": name, "bytes": 1, "adler32": ADLER}]})
    assert response.status == 201, response
    return name


async def new_dataset(api, files=()):
    name = tagged("ds")
    assert (await api.post(f"/dids/{SCOPE}/{name}", {"type": "DATASET"})).status == 201
    if files:
        assert (await api.post(f"/dids/{SCOPE}/{name}/dids", {"dids": [
            {"scope": SCOPE, "name": f} for f in files]})).status == 201
    return name


async def new_rule(api, copies=1, expression=FILE_RSE):
    name = await new_file(api)
    response = await api.as_("jdoe").post("/rules", {
        "dids": [{"scope": SCOPE, "name": name}], "account": "jdoe", "copies": copies,
        "rse_expression": expression})
    assert response.status == 201, response
    return response.json()[0]


def req(path, body=None, **extra):
    return dict(path=path, body=body, **extra)


# -- accounts, identities, scopes --------------------------------------------------------------
async def account_new(api):
    return req(f"/accounts/{tagged('acc')}", {"type": "USER", "email": "a@b.org"})


async def account_update(api):
    return req("/accounts/jdoe", {"email": f"{tagged()}@b.org"}, probe="/accounts/jdoe")


async def account_delete(api):
    account = tagged("acc")
    assert (await api.post(f"/accounts/{account}",
                           {"type": "USER", "email": "a@b.org"})).status == 201
    return req(f"/accounts/{account}", owner=account, probe=f"/accounts/{account}")


async def attribute_add(api):
    return req(f"/accounts/jdoe/attr/{tagged('k')}", {"value": "v"})


async def attribute_delete(api):
    key = tagged("k")
    assert (await api.post(f"/accounts/jdoe/attr/{key}", {"value": "v"})).status == 201
    return req(f"/accounts/jdoe/attr/{key}")


async def identity_add(api):
    return req("/accounts/jdoe/identities", {"identity": tagged("user"), "authtype": "USERPASS",
                                              "email": "a@b.org", "password": "a-long-password"})


async def _identity(api):
    identity = tagged("user")
    assert (await api.post("/accounts/jdoe/identities", {
        "identity": identity, "authtype": "USERPASS", "email": "a@b.org",
        "password": "a-long-password"})).status == 201
    return identity


async def identity_delete(api):
    return req("/accounts/jdoe/identities",
               {"identity": await _identity(api), "authtype": "USERPASS"})


async def identity_path_add(api):
    return req(f"/accounts/jdoe/identities/USERPASS/{tagged('user')}",
               {"email": "a@b.org", "password": "a-long-password"})


async def identity_path_delete(api):
    return req(f"/accounts/jdoe/identities/USERPASS/{await _identity(api)}")


async def userpass_identity(api):
    return req("/identities/jdoe/userpass", headers={
        "X-Rucio-Username": tagged("user"), "X-Rucio-Password": "a-long-password",
        "X-Rucio-Email": "a@b.org"})


def _scope_rows(prefix):
    """``/accounts/{a}/scopes/{s}`` and ``/scopes/{a}/{s}``: same handler, two paths."""
    def path(account, scope):
        return f"/accounts/{account}/scopes/{scope}" if prefix == "accounts" else \
            f"/scopes/{account}/{scope}"

    async def _scope(api):
        scope = tagged("s")
        assert (await api.post(f"/accounts/jdoe/scopes/{scope}")).status == 201
        return scope

    async def add(api):
        return req(path("jdoe", tagged("s")))

    async def hand_over(api):
        return req(path("jsmith", await _scope(api)), probe="/scopes/owner")

    async def delete(api):
        return req(path("jdoe", await _scope(api)), probe="/scopes/owner")
    return {"POST": Row(ADMIN, add), "PUT": Row(OWNER, hand_over),
            "DELETE": Row(ADMIN, delete)}


# -- RSEs ----------------------------------------------------------------------------------------
async def rse_add(api):
    return req(f"/rses/{rse_name()}")


async def rse_update(api):
    rse = await new_rse(api)
    return req(f"/rses/{rse}", {"city": tagged("city")}, probe=f"/rses/{rse}")


async def rse_delete(api):
    rse = await new_rse(api)
    return req(f"/rses/{rse}", probe=f"/rses/{rse}")


async def rse_attr_set(api):
    return req(f"/rses/{FILE_RSE}/attr/{tagged('k')}", {"value": "v"},
               probe=f"/rses/{FILE_RSE}/attr")


async def rse_attr_delete(api):
    key = tagged("k")
    assert (await api.post(f"/rses/{FILE_RSE}/attr/{key}", {"value": "v"})).status == 201
    return req(f"/rses/{FILE_RSE}/attr/{key}", probe=f"/rses/{FILE_RSE}/attr")


PROTOCOL = {"hostname": "host.org", "port": 1094, "prefix": "/p",
            "impl": "rucio.rse.protocols.xrootd.Default",
            "domains": {"lan": {"read": 1, "write": 1, "delete": 1},
                        "wan": {"read": 1, "write": 1, "delete": 1, "third_party_copy_read": 1,
                                "third_party_copy_write": 1}}}


def protocol_rows(parts):
    """``/rses/{r}/protocols/root[/host.org[/1094]]``."""
    suffix = "".join(f"/{p}" for p in ("root", "host.org", "1094")[:parts])

    async def add(api):
        rse = await new_rse(api)
        return req(f"/rses/{rse}/protocols{suffix}", dict(PROTOCOL, scheme="root"))

    async def _with_protocol(api):
        rse = await new_rse(api)
        assert (await api.post(f"/rses/{rse}/protocols/root",
                               dict(PROTOCOL, scheme="root"))).status == 201
        return rse

    async def update(api):
        rse = await _with_protocol(api)
        return req(f"/rses/{rse}/protocols{suffix}", {"prefix": "/q"},
                   probe=f"/rses/{rse}/protocols")

    async def delete(api):
        rse = await _with_protocol(api)
        return req(f"/rses/{rse}/protocols{suffix}", probe=f"/rses/{rse}/protocols")
    return {"POST": Row(ADMIN, add), "PUT": Row(ADMIN, update), "DELETE": Row(ADMIN, delete)}


async def _pair(api, distance=None):
    source, destination = await new_rse(api), await new_rse(api)
    if distance is not None:
        assert (await api.post(f"/rses/{source}/distances/{destination}",
                               {"distance": distance})).status == 201
    return source, destination


async def distance_add(api):
    return req("/rses/{}/distances/{}".format(*await _pair(api)), {"distance": 1})


async def distance_update(api):
    source, destination = await _pair(api, 1)
    return req(f"/rses/{source}/distances/{destination}", {"distance": 2},
               probe=f"/rses/{source}/distances/{destination}")


async def distance_delete(api):
    source, destination = await _pair(api, 1)
    return req(f"/rses/{source}/distances/{destination}",
               probe=f"/rses/{source}/distances/{destination}")


async def rse_usage(api):
    # no probe: GET /rses/{r}/usage stores the usage it computes (the snapshot sees RSEUsage)
    return req(f"/rses/{FILE_RSE}/usage", {"source": "srm", "used": next(_counter), "free": 1})


async def rse_limit_set(api):
    return req(f"/rses/{FILE_RSE}/limits", {"name": tagged("L"), "value": 10},
               probe=f"/rses/{FILE_RSE}/limits")


async def rse_limit_delete(api):
    name = tagged("L")
    assert (await api.put(f"/rses/{FILE_RSE}/limits", {"name": name, "value": 1})).status == 200
    return req(f"/rses/{FILE_RSE}/limits", {"name": name}, probe=f"/rses/{FILE_RSE}/limits")


# -- account limits --------------------------------------------------------------------------
LIMIT_PROBE = "/accounts/jdoe/limits/local"


async def limit_put(api, path="/accounts/jdoe/limits"):
    return req(path, {"rse": LIMIT_RSE, "bytes": next(_counter)}, probe=LIMIT_PROBE)


def local_limit_rows(template):
    path = template.format(account="jdoe", rse=LIMIT_RSE)

    async def set_(api):
        return req(path, {"bytes": next(_counter)}, probe=LIMIT_PROBE)

    async def delete(api):
        assert (await api.post(path, {"bytes": 5})).status == 201
        return req(path, probe=LIMIT_PROBE)
    return {"POST": Row(ADMIN, set_), "DELETE": Row(ADMIN, delete)}


def global_limit_rows(template):
    path = template.format(account="jdoe", expression=LIMIT_RSE)
    probe = "/accounts/jdoe/limits/global"

    async def set_(api):
        return req(path, {"bytes": next(_counter)}, probe=probe)

    async def delete(api):
        assert (await api.post(path, {"bytes": 5})).status == 201
        return req(path, probe=probe)
    return {"POST": Row(ADMIN, set_), "DELETE": Row(ADMIN, delete)}


# -- DIDs and metadata -------------------------------------------------------------------------
async def dids_add(api):
    return req("/dids", [{"scope": SCOPE, "name": tagged("ds"), "type": "DATASET"}])


async def attachments(api):
    file, dataset = await new_file(api), await new_dataset(api)
    return req("/dids/attachments", {"attachments": [
        {"scope": SCOPE, "name": dataset, "dids": [{"scope": SCOPE, "name": file}]}]},
        probe=f"/dids/{SCOPE}/{dataset}/dids")


async def bulk_files(api):
    return req("/dids/bulkfiles", {"dids": [{"scope": SCOPE, "name": await new_dataset(api)}]})


async def bulk_meta(api):
    return req("/dids/bulkmeta", {"dids": [{"scope": SCOPE, "name": await new_dataset(api)}]})


async def bulk_dids_meta(api):
    dataset = await new_dataset(api)
    return req("/dids/bulkdidsmeta", {"dids": [
        {"scope": SCOPE, "name": dataset, "meta": {"project": "p"}}]},
        probe=f"/dids/{SCOPE}/{dataset}/meta")


async def _guid_scope(api):
    scope = tagged("g")
    assert (await api.post(f"/accounts/jdoe/scopes/{scope}")).status == 201
    return scope


async def guid_add(api):
    return req(f"/dids/{await _guid_scope(api)}/guid", {"type": "DATASET"})


async def guid_delete(api):
    scope = await _guid_scope(api)
    assert (await api.post(f"/dids/{scope}/guid", {"type": "DATASET"})).status == 201
    return req(f"/dids/{scope}/guid", probe=f"/dids/{scope}/guid/meta")


async def did_status(api):
    dataset = await new_dataset(api)
    return req(f"/dids/{SCOPE}/{dataset}/status", {"open": False},
               probe=f"/dids/{SCOPE}/{dataset}")


async def did_meta_set(api):
    dataset = await new_dataset(api)
    return req(f"/dids/{SCOPE}/{dataset}/meta", {"meta": {"project": "p"}},
               probe=f"/dids/{SCOPE}/{dataset}/meta")


async def _with_meta(api):
    dataset = await new_dataset(api)
    assert (await api.post(f"/dids/{SCOPE}/{dataset}/meta/colour", {"value": "p"})
            ).status == 201
    return dataset


async def did_meta_delete(api):
    dataset = await _with_meta(api)
    return req(f"/dids/{SCOPE}/{dataset}/meta?key=colour",
               probe=f"/dids/{SCOPE}/{dataset}/meta")


async def did_meta_key_set(api):
    dataset = await new_dataset(api)
    return req(f"/dids/{SCOPE}/{dataset}/meta/project", {"value": "p"},
               probe=f"/dids/{SCOPE}/{dataset}/meta")


async def did_meta_key_delete(api):
    dataset = await _with_meta(api)
    return req(f"/dids/{SCOPE}/{dataset}/meta/colour", probe=f"/dids/{SCOPE}/{dataset}/meta")


async def content_attach(api):
    file, dataset = await new_file(api), await new_dataset(api)
    return req(f"/dids/{SCOPE}/{dataset}/dids", {"dids": [{"scope": SCOPE, "name": file}]},
               probe=f"/dids/{SCOPE}/{dataset}/dids")


async def content_detach(api):
    file = await new_file(api)
    dataset = await new_dataset(api, [file])
    return req(f"/dids/{SCOPE}/{dataset}/dids", {"dids": [{"scope": SCOPE, "name": file}]},
               probe=f"/dids/{SCOPE}/{dataset}/dids")


async def attach_child(api):
    file, dataset = await new_file(api), await new_dataset(api)
    return req(f"/dids/{SCOPE}/{dataset}/{file}", probe=f"/dids/{SCOPE}/{dataset}/dids")


async def did_add(api):
    return req(f"/dids/{SCOPE}/{tagged('ds')}", {"type": "DATASET"})


async def did_obsolete(api):
    dataset = await new_dataset(api)
    return req(f"/dids/{SCOPE}/{dataset}", probe=f"/dids/{SCOPE}/{dataset}")


async def meta_key_add(api):
    return req(f"/meta/{tagged('key')}", {})


async def _meta_key(api, with_default=False):
    key = tagged("key")
    assert (await api.post(f"/meta/{key}", {})).status == 201
    if with_default:
        assert (await api.post(f"/meta/{key}/v")).status == 201
    return key


async def meta_key_delete(api):
    return req(f"/meta/{await _meta_key(api)}", probe="/meta")


async def meta_default_add(api):
    key = await _meta_key(api)
    return req(f"/meta/{key}/v", probe=f"/meta/{key}")


async def meta_default_delete(api):
    key = await _meta_key(api, with_default=True)
    return req(f"/meta/{key}/v", probe=f"/meta/{key}")


async def convention_key(api):
    return req(f"/meta_conventions/{tagged('key')}", {})


async def convention_value(api):
    key = tagged("key")
    assert (await api.post(f"/meta_conventions/{key}", {})).status == 201
    return req(f"/meta_conventions/{key}/", {"value": "v"}, probe=f"/meta_conventions/{key}/")


# -- replicas ------------------------------------------------------------------------------------
async def replicas_add(api):
    """A NEW file in jdoe's scope on an open (``*SCRATCHDISK``) RSE: the scope decides."""
    return req("/replicas", {"rse": FILE_RSE, "files": [
        {"scope": SCOPE, "name": tagged("file"), "bytes": 1, "adler32": ADLER}]})


async def _owned_replica(api):
    """A replica jdoe registered itself (its file in its scope, on its scratch disk)."""
    name = await new_file(api, registrar="jdoe")
    return name, f"/replicas/{SCOPE}/{name}?all_states=true"


async def replicas_state(api):
    name, probe = await _owned_replica(api)
    return req("/replicas", {"rse": FILE_RSE, "files": [
        {"scope": SCOPE, "name": name, "state": "U"}]}, probe=probe)


async def replicas_delete(api):
    name, probe = await _owned_replica(api)
    return req("/replicas", {"rse": FILE_RSE, "files": [{"scope": SCOPE, "name": name}]},
               probe=probe)


async def replicas_list(api):
    return req("/replicas/list", {"dids": [{"scope": SCOPE, "name": await new_file(api)}]})


async def tombstone(api):
    name, probe = await _owned_replica(api)
    return req("/replicas/tombstone", {"replicas": [
        {"rse": FILE_RSE, "scope": SCOPE, "name": name}]}, probe=probe)


async def bad_replicas(api):
    name, probe = await _owned_replica(api)
    return req("/replicas/bad", {"replicas": [{"scope": SCOPE, "name": name, "rse": FILE_RSE}],
                                 "reason": "lost"}, probe=probe)


async def bad_dids(api):
    name, probe = await _owned_replica(api)
    return req("/replicas/bad/dids", {"rse": FILE_RSE, "dids": [
        {"scope": SCOPE, "name": name}], "reason": "lost"}, probe=probe)


def pfn_of(name):
    return f"root://host.org:1094/p/{SCOPE}/{name}"


async def bad_pfns(api):
    name, probe = await _owned_replica(api)
    return req("/replicas/bad/pfns", {"pfns": [pfn_of(name)], "state": "SUSPICIOUS",
                                      "reason": "lost"}, probe=probe)


async def suspicious(api):
    name, probe = await _owned_replica(api)
    return req("/replicas/suspicious", {"pfns": [pfn_of(name)], "reason": "odd"})


async def datasets_bulk(api):
    return req("/replicas/datasets_bulk", {"dids": [
        {"scope": SCOPE, "name": await new_dataset(api)}]})


async def dids_from_pfns(api):
    name, _ = await _owned_replica(api)
    return req("/replicas/dids", {"pfns": [pfn_of(name)], "rse": FILE_RSE})


async def quarantine(api):
    return req("/replicas/quarantine", {"rse": FILE_RSE, "replicas": [
        {"path": f"/p/dark/{tagged('f')}"}]})


async def dirac_addfiles(api):
    name = tagged("dirac")
    return req("/dirac/addfiles", {"lfns": [
        {"lfn": f"/vo/{SCOPE}/d{name}/{name}", "rse": FILE_RSE, "bytes": 1, "adler32": ADLER,
         "guid": None}]})


# -- rules, subscriptions ----------------------------------------------------------------------
async def rule_add(api):
    return req("/rules", {"dids": [{"scope": SCOPE, "name": await new_file(api)}],
                          "account": "jdoe", "copies": 1, "rse_expression": FILE_RSE})


async def rule_update(api):
    rule = await new_rule(api)
    return req(f"/rules/{rule}", {"options": {"comment": tagged("c")}}, probe=f"/rules/{rule}")


async def rule_delete(api):
    rule = await new_rule(api)
    return req(f"/rules/{rule}", {}, probe=f"/rules/{rule}")


async def rule_reduce(api):
    rule = await new_rule(api, 2, f"{FILE_RSE}|{OTHER_RSE}")
    return req(f"/rules/{rule}/reduce", {"copies": 1}, probe=f"/rules/{rule}")


async def rule_move(api):
    rule = await new_rule(api)
    return req(f"/rules/{rule}/move", {"rse_expression": OTHER_RSE}, probe=f"/rules/{rule}")


SUBSCRIPTION = {"filter": {"scope": [SCOPE]}, "replication_rules": [
    {"copies": 1, "rse_expression": FILE_RSE, "activity": "User Subscriptions"}], "comments": "c", "lifetime": None,
    "retroactive": False, "dry_run": False}


async def subscription_add(api):
    return req(f"/subscriptions/jdoe/{tagged('sub')}", {"options": SUBSCRIPTION})


async def _subscription(api):
    name = tagged("sub")
    response = await api.post(f"/subscriptions/jdoe/{name}", {"options": SUBSCRIPTION})
    assert response.status == 201, response
    return name, response.text.strip().strip('"')


async def subscription_update(api):
    name, _ = await _subscription(api)
    return req(f"/subscriptions/jdoe/{name}", {"options": {"comments": tagged("c")}},
               probe=f"/subscriptions/jdoe/{name}")


async def subscription_add_flat(api):
    return req("/subscriptions/jdoe", {"name": tagged("sub"), "options": SUBSCRIPTION})


async def subscription_delete(api):
    _, sub_id = await _subscription(api)
    return req(f"/subscriptions/{sub_id}", probe=f"/subscriptions/{sub_id}")


# -- the rest --------------------------------------------------------------------------------
async def bulk_locks(api):
    return req("/locks/bulk_locks_for_dids", {"dids": [{"scope": SCOPE,
                                                        "name": await new_dataset(api)}]})


async def transfer_limit_set(api):
    return req("/requests/transfer_limits", {"rse_expression": FILE_RSE,
                                              "activity": tagged("act"), "max_transfers": 10})


async def transfer_limit_delete(api):
    activity = tagged("act")
    assert (await api.put("/requests/transfer_limits", {
        "rse_expression": FILE_RSE, "activity": activity, "max_transfers": 1})).status == 201
    return req("/requests/transfer_limits", {"rse_expression": FILE_RSE, "activity": activity})


async def lifetime_exception_add(api):
    return req("/lifetime_exceptions", {"dids": [
        {"scope": SCOPE, "name": await new_dataset(api), "did_type": "DATASET"}],
        "pattern": "", "comments": "keep", "expires_at": "2099-01-01T00:00:00"})


async def lifetime_exception_update(api):
    dataset = await new_dataset(api)
    assert (await api.post(f"/dids/{SCOPE}/{dataset}/meta/eol_at",
                           {"value": "2030-01-01T00:00:00"})).status == 201
    response = await api.post("/lifetime_exceptions", {"dids": [
        {"scope": SCOPE, "name": dataset, "did_type": "DATASET"}],
        "pattern": "", "comments": "keep", "expires_at": "2099-01-01T00:00:00"})
    assert response.status == 201, response
    exception_id = next(iter(response.json()["exceptions"]))
    return req(f"/lifetime_exceptions/{exception_id}", {"state": "A"},
               probe=f"/lifetime_exceptions/{exception_id}")


async def config_set(api):
    return req(f"/config/{tagged('sec')}/opt/v")


async def config_option_delete(api):
    section = tagged("sec")
    assert (await api.put(f"/config/{section}/opt/v")).status == 201
    return req(f"/config/{section}/opt")


async def config_section_delete(api):
    section = tagged("sec")
    assert (await api.put(f"/config/{section}/opt/v")).status == 201
    return req(f"/config/{section}")


async def config_post(api):
    return req("/config", {tagged("sec"): {"opt": "v"}})


async def heartbeat(api):
    return req("/heartbeats", {"executable": tagged("daemon"), "hostname": "h", "pid": 1})


async def import_data(api):
    return req("/import", {"rses": {rse_name(): {"rse_type": "DISK"}}})


async def opendata_add(api):
    return req(f"/opendata/dids/{SCOPE}/{await new_dataset(api)}")


async def _opendata(api):
    dataset = await new_dataset(api)
    assert (await api.post(f"/opendata/dids/{SCOPE}/{dataset}")).status == 201
    return dataset


async def opendata_update(api):
    dataset = await _opendata(api)
    return req(f"/opendata/dids/{SCOPE}/{dataset}", {"meta": {"k": tagged()}},
               probe=f"/opendata/dids/{SCOPE}/{dataset}")


async def opendata_delete(api):
    dataset = await _opendata(api)
    return req(f"/opendata/dids/{SCOPE}/{dataset}", probe=f"/opendata/dids/{SCOPE}/{dataset}")


async def did_resurrect(api):
    name = tagged("ds")
    assert (await api.post(f"/dids/{SCOPE}/{name}", {"type": "DATASET", "lifetime": 0.001})
            ).status == 201
    time.sleep(0.01)                                    # expired: resurrect brings it back
    return req("/dids/resurrect", [{"scope": SCOPE, "name": name}],
               probe=f"/dids/{SCOPE}/{name}")


async def did_sample(api):
    return req("/dids/sample", {"input_scope": SCOPE, "input_name": await new_dataset(api),
                                "output_scope": SCOPE, "output_name": tagged("sample"),
                                "nbfiles": 1})


async def did_sample_path(api):
    return req(f"/dids/{SCOPE}/{await new_dataset(api)}/{SCOPE}/{tagged('sample')}/1/sample")


async def did_follow(api):
    return req(f"/dids/{SCOPE}/{await new_dataset(api)}/follow", {"account": "jdoe"})


async def did_unfollow(api):
    dataset = await new_dataset(api)
    assert (await api.post(f"/dids/{SCOPE}/{dataset}/follow", {"account": "jdoe"})).status == 201
    return req(f"/dids/{SCOPE}/{dataset}/follow", {"account": "jdoe"},
               probe=f"/dids/{SCOPE}/{dataset}/follow")


async def qos_add(api):
    return req(f"/rses/{FILE_RSE}/qos_policy/{tagged('POLICY')}",
               probe=f"/rses/{FILE_RSE}/qos_policy")


async def qos_delete(api):
    policy = tagged("POLICY")
    assert (await api.post(f"/rses/{FILE_RSE}/qos_policy/{policy}")).status == 201
    return req(f"/rses/{FILE_RSE}/qos_policy/{policy}", probe=f"/rses/{FILE_RSE}/qos_policy")


async def credential_identity(api):
    return req("/identities/jdoe/x509", headers={"X-Rucio-Email": "a@b.org"})


async def gss_identity(api):
    return req("/identities/jdoe/gss", headers={"X-Rucio-Email": "a@b.org"})


async def vo_request(api):
    return req("/vos/def", {"description": "d", "email": "a@b.org"})


async def vo_recover(api):
    return req("/vos/def/recover", {"identity": "u", "authtype": "USERPASS", "email": "a@b.org",
                                    "password": "a-long-password"})


async def token_login(api):
    return req("/auth/token", {"account": "root", "username": "ddmlab", "password": "secret"})


async def trace(api):
    return req("/traces", {"eventType": "get", "clientState": "DONE", "scope": SCOPE,
                           "filename": "f", "account": "jdoe"})


async def nongrid_trace(api):
    return req("/nongrid_traces", {"eventType": "get", "clientState": "DONE"})


# -- the matrix ------------------------------------------------------------------------------
P = r"([^/]+)"
S = "/?"
SINGLE_VO = (409, "UnsupportedOperation")
NO_CERTIFICATE = (400, "ValueError")

MATRIX = {
    # ping and authentication: no token needed, nothing to refuse
    (rf"/auth/token{S}", "POST"): Row(EVERYONE, token_login, public=True),
    # accounts (add/delete: root's alone in the generic policy)
    (rf"/accounts/{P}{S}", "POST"): Row(ROOT, account_new),
    (rf"/accounts/{P}{S}", "PUT"): Row(ADMIN, account_update),
    (rf"/accounts/{P}{S}", "DELETE"): Row(ROOT, account_delete),
    (rf"/accounts/{P}/attr/{P}{S}", "POST"): Row(ADMIN, attribute_add),
    (rf"/accounts/{P}/attr/{P}{S}", "DELETE"): Row(ADMIN, attribute_delete),
    (rf"/accounts/{P}/identities{S}", "POST"): Row(ADMIN, identity_add),
    (rf"/accounts/{P}/identities{S}", "DELETE"): Row(ADMIN, identity_delete),
    (rf"/accounts/{P}/identities/{P}/{P}{S}", "POST"): Row(ADMIN, identity_path_add),
    (rf"/accounts/{P}/identities/{P}/{P}{S}", "DELETE"): Row(ADMIN, identity_path_delete),
    (rf"/identities/{P}/userpass{S}", "PUT"): Row(ADMIN, userpass_identity),
    (rf"/identities/{P}/x509{S}", "PUT"): Row(ADMIN, credential_identity,
                                              every=NO_CERTIFICATE),
    (rf"/identities/{P}/gss{S}", "PUT"): Row(ADMIN, gss_identity, every=NO_CERTIFICATE),
    **{(rf"/accounts/{P}/scopes/{P}{S}", m): row for m, row in _scope_rows("accounts").items()},
    **{(rf"/scopes/{P}/{P}{S}", m): row for m, row in _scope_rows("scopes").items()},
    # RSEs
    (rf"/rses/{P}{S}", "POST"): Row(ADMIN, rse_add),
    (rf"/rses/{P}{S}", "PUT"): Row(ADMIN, rse_update),
    (rf"/rses/{P}{S}", "DELETE"): Row(ADMIN, rse_delete),
    (rf"/rses/{P}/attr/{P}{S}", "POST"): Row(ADMIN, rse_attr_set),
    (rf"/rses/{P}/attr/{P}{S}", "PUT"): Row(ADMIN, rse_attr_set),
    (rf"/rses/{P}/attr/{P}{S}", "DELETE"): Row(ADMIN, rse_attr_delete),
    **{(rf"/rses/{P}/protocols/{P}{S}", m): row for m, row in protocol_rows(1).items()},
    **{(rf"/rses/{P}/protocols/{P}/{P}{S}", m): row for m, row in protocol_rows(2).items()},
    **{(rf"/rses/{P}/protocols/{P}/{P}/{P}{S}", m): row
       for m, row in protocol_rows(3).items()},
    (rf"/rses/{P}/distances/{P}{S}", "POST"): Row(ADMIN, distance_add),
    (rf"/rses/{P}/distances/{P}{S}", "PUT"): Row(ADMIN, distance_update),
    (rf"/rses/{P}/distances/{P}{S}", "DELETE"): Row(ADMIN, distance_delete),
    (rf"/rses/{P}/usage{S}", "PUT"): Row(ROOT, rse_usage),     # root's alone
    (rf"/rses/{P}/limits{S}", "PUT"): Row(ADMIN, rse_limit_set),
    (rf"/rses/{P}/limits{S}", "DELETE"): Row(ADMIN, rse_limit_delete),
    (rf"/rses/{P}/qos_policy/{P}{S}", "POST"): Row(ADMIN, qos_add),
    (rf"/rses/{P}/qos_policy/{P}{S}", "DELETE"): Row(ADMIN, qos_delete),
    # account limits (the owner = the account the limit is for: it may not set its own)
    (rf"/accounts/{P}/limits{S}", "PUT"): Row(ADMIN, limit_put),
    (rf"/accounts/{P}/limits/local{S}", "PUT"): Row(
        ADMIN, lambda api: limit_put(api, "/accounts/jdoe/limits/local")),
    **{(rf"/accounts/{P}/limits/local/{P}{S}", m): row for m, row in local_limit_rows(
        "/accounts/{account}/limits/local/{rse}").items()},
    **{(rf"/accounts/{P}/limits/{P}{S}", m): row for m, row in local_limit_rows(
        "/accounts/{account}/limits/{rse}").items()},
    **{(rf"/accountlimits/local/{P}/{P}{S}", m): row for m, row in local_limit_rows(
        "/accountlimits/local/{account}/{rse}").items()},
    **{(rf"/accountlimits/{P}/{P}{S}", m): row for m, row in local_limit_rows(
        "/accountlimits/{account}/{rse}").items()},
    **{(rf"/accounts/{P}/limits/global/{P}{S}", m): row for m, row in global_limit_rows(
        "/accounts/{account}/limits/global/{expression}").items()},
    **{(rf"/accountlimits/global/{P}/{P}{S}", m): row for m, row in global_limit_rows(
        "/accountlimits/global/{account}/{expression}").items()},
    # DIDs (owner = the scope's owner)
    (rf"/dids{S}", "POST"): Row(OWNER, dids_add),
    (rf"/dids/attachments{S}", "POST"): Row(OWNER, attachments),
    (rf"/dids/bulkfiles{S}", "POST"): Row(EVERYONE, bulk_files),
    (rf"/dids/bulkmeta{S}", "POST"): Row(EVERYONE, bulk_meta),
    (rf"/dids/bulkdidsmeta{S}", "POST"): Row(OWNER, bulk_dids_meta),
    (rf"/dids/resurrect{S}", "POST"): Row(ADMIN, did_resurrect),
    (rf"/dids/sample{S}", "POST"): Row(OWNER, did_sample),
    (rf"/dids/{P}/{P}/{P}/{P}/{P}/sample{S}", "POST"): Row(OWNER, did_sample_path),
    (rf"/dids/{P}/{P}/follow{S}", "POST"): Row(OWNER, did_follow),    # owner = the follower
    (rf"/dids/{P}/{P}/follow{S}", "DELETE"): Row(OWNER, did_unfollow),
    (rf"/dids/{P}/guid{S}", "POST"): Row(OWNER, guid_add),
    (rf"/dids/{P}/guid{S}", "DELETE"): Row(OWNER, guid_delete),
    (rf"/dids/{P}/{P}/status{S}", "PUT"): Row(OWNER, did_status),
    (rf"/dids/{P}/{P}/meta{S}", "POST"): Row(OWNER, did_meta_set),
    (rf"/dids/{P}/{P}/meta{S}", "DELETE"): Row(OWNER, did_meta_delete),
    (rf"/dids/{P}/{P}/meta/{P}{S}", "POST"): Row(OWNER, did_meta_key_set),
    (rf"/dids/{P}/{P}/meta/{P}{S}", "PUT"): Row(OWNER, did_meta_key_set),
    (rf"/dids/{P}/{P}/meta/{P}{S}", "DELETE"): Row(OWNER, did_meta_key_delete),
    (rf"/dids/{P}/{P}/dids{S}", "POST"): Row(OWNER, content_attach),
    (rf"/dids/{P}/{P}/dids{S}", "DELETE"): Row(OWNER, content_detach),
    (rf"/dids/{P}/{P}/{P}{S}", "POST"): Row(OWNER, attach_child),
    (rf"/dids/{P}/{P}", "POST"): Row(OWNER, did_add),
    (rf"/dids/{P}/{P}", "DELETE"): Row(OWNER, did_obsolete),
    (rf"/meta/{P}{S}", "POST"): Row(ADMIN, meta_key_add),
    (rf"/meta/{P}{S}", "DELETE"): Row(ADMIN, meta_key_delete),
    (rf"/meta/{P}/{P}{S}", "POST"): Row(ADMIN, meta_default_add),
    (rf"/meta/{P}/{P}{S}", "DELETE"): Row(ADMIN, meta_default_delete),
    (rf"/meta_conventions/{P}", "POST"): Row(ADMIN, convention_key),
    (rf"/meta_conventions/{P}/", "POST"): Row(ADMIN, convention_value),
    # replicas (owner = the account that registered the replica and owns the scope)
    (rf"/replicas{S}", "POST"): Row(OWNER, replicas_add),
    (rf"/replicas{S}", "PUT"): Row(ADMIN, replicas_state),
    (rf"/replicas{S}", "DELETE"): Row(NOBODY, replicas_delete),   # root included
    (rf"/replicas/list{S}", "POST"): Row(EVERYONE, replicas_list),
    (rf"/replicas/tombstone{S}", "POST"): Row(ADMIN, tombstone),
    (rf"/replicas/bad{S}", "POST"): Row(ROOT, bad_replicas),
    (rf"/replicas/bad/dids{S}", "POST"): Row(ROOT, bad_dids),
    (rf"/replicas/bad/pfns{S}", "POST"): Row(ROOT, bad_pfns),
    (rf"/replicas/suspicious{S}", "POST"): Row(EVERYONE, suspicious),
    (rf"/replicas/datasets_bulk{S}", "POST"): Row(EVERYONE, datasets_bulk),
    (rf"/replicas/dids{S}", "POST"): Row(EVERYONE, dids_from_pfns),
    (rf"/replicas/quarantine{S}", "POST"): Row(ADMIN, quarantine),
    (rf"/dirac/addfiles{S}", "POST"): Row(OWNER, dirac_addfiles),     # scratch RSE: scope
    # rules (owner = the rule's account: it may create its unlocked rules, nothing more)
    (rf"/rules{S}", "POST"): Row(OWNER, rule_add),
    (rf"/rules/{P}{S}", "PUT"): Row(ADMIN, rule_update),
    (rf"/rules/{P}{S}", "DELETE"): Row(ADMIN, rule_delete),
    (rf"/rules/{P}/reduce{S}", "POST"): Row(ADMIN, rule_reduce),
    (rf"/rules/{P}/move{S}", "POST"): Row(ADMIN, rule_move),
    (rf"/subscriptions/{P}/{P}{S}", "POST"): Row(ADMIN, subscription_add),
    (rf"/subscriptions/{P}/{P}{S}", "PUT"): Row(ADMIN, subscription_update),
    (rf"/subscriptions/{P}{S}", "POST"): Row(ADMIN, subscription_add_flat),
    (rf"/subscriptions/{P}{S}", "DELETE"): Row(ADMIN, subscription_delete),
    # locks, requests, lifetime exceptions
    (rf"/locks/bulk_locks_for_dids{S}", "POST"): Row(EVERYONE, bulk_locks),
    (rf"/requests/transfer_limits{S}", "PUT"): Row(ADMIN, transfer_limit_set),
    (rf"/requests/transfer_limits{S}", "DELETE"): Row(ADMIN, transfer_limit_delete),
    (rf"/lifetime_exceptions{S}", "POST"): Row(EVERYONE, lifetime_exception_add),
    (rf"/lifetime_exceptions/{P}{S}", "PUT"): Row(ADMIN, lifetime_exception_update),
    # configuration, VOs (single VO: allowed callers get UnsupportedOperation), heartbeats
    (rf"/config/{P}/{P}/{P}{S}", "PUT"): Row(ADMIN, config_set),
    (rf"/config/{P}/{P}{S}", "DELETE"): Row(ADMIN, config_option_delete),
    (rf"/config/{P}{S}", "DELETE"): Row(ADMIN, config_section_delete),
    (rf"/config{S}", "POST"): Row(ADMIN, config_post),
    (rf"/vos/{P}/recover{S}", "POST"): Row(ADMIN, vo_recover, answer=SINGLE_VO),
    (rf"/vos/{P}{S}", "POST"): Row(ADMIN, vo_request, answer=SINGLE_VO),
    (rf"/vos/{P}{S}", "PUT"): Row(ADMIN, vo_request, answer=SINGLE_VO),
    (rf"/heartbeats{S}", "POST"): Row(ADMIN, heartbeat),
    (rf"/traces{S}", "POST"): Row(EVERYONE, trace, public=True),
    (rf"/nongrid_traces{S}", "POST"): Row(EVERYONE, nongrid_trace, public=True),
    # import, opendata
    (rf"/import{S}", "POST"): Row(ADMIN, import_data),
    (rf"/opendata/dids/{P}/{P}{S}", "POST"): Row(ADMIN, opendata_add),
    (rf"/opendata/dids/{P}/{P}{S}", "PUT"): Row(ADMIN, opendata_update),
    (rf"/opendata/dids/{P}/{P}{S}", "DELETE"): Row(ADMIN, opendata_delete),
}


def test_every_write_route_has_a_row():
    pairs = set(write_pairs())
    missing = sorted(pairs - set(MATRIX))
    stale = sorted(set(MATRIX) - pairs)
    assert not missing, "write routes without a row in the permission matrix:\n" + \
        "\n".join(f"{method} {pattern}" for pattern, method in missing)
    assert not stale, f"matrix rows for routes the table no longer has: {stale}"


# -- running it ----------------------------------------------------------------------------
def snapshot(db):
    """Row count and latest ``updated_at`` of every table, in one query."""
    parts = []
    for model in ALL_MODELS:
        table = f'"{model._meta.table_name}"'
        parts.append(f"(SELECT count(*) FROM {table})")
        if "updated_at" in model._meta.fields:
            parts.append(f"(SELECT max(updated_at) FROM {table})")
    with db.peewee.connection_context():
        return tuple(db.peewee.execute_sql("SELECT " + ", ".join(parts)).fetchone())


def expired_token(account="jdoe"):
    now = int(time.time())
    return jwt.encode({"sub": account, "iat": now - 7200, "exp": now - 3600, "jti": "old"},
                      TEST_SECRET, algorithm="HS256")


async def build_world(api):
    for account in ("jdoe", "jsmith", "boss", "gone"):
        assert (await api.post(f"/accounts/{account}",
                               {"type": "USER", "email": f"{account}@b.org"})).status == 201
    assert (await api.post("/accounts/boss/attr/admin", {"value": True})).status == 201
    assert (await api.post(f"/accounts/jdoe/scopes/{SCOPE}")).status == 201
    assert (await api.post("/accounts/jdoe/scopes/vo")).status == 201    # DIRAC's /vo
    for rse in (FILE_RSE, OTHER_RSE, LIMIT_RSE):
        await new_rse(api, rse)
        for account in ("jdoe", "root"):
            assert (await api.post(f"/accounts/{account}/limits/local/{rse}",
                                   {"bytes": -1})).status == 201
    assert (await api.post(f"/rses/{FILE_RSE}/attr/ANY", {"value": True})).status == 201
    assert (await api.post(f"/rses/{FILE_RSE}/protocols/root",
                           dict(PROTOCOL, scheme="root"))).status == 201
    assert (await api.put("/accounts/gone", {"status": "SUSPENDED"})).status == 200


def caller_api(api, caller, owner):
    account = {"suspended": "gone", "other": "jsmith", "owner": owner, "admin": "boss",
               "root": "root"}.get(caller)
    if caller == "no token":
        return api.as_(None)
    if caller == "expired":
        expired = api.as_(None)
        expired.token = expired_token()
        return expired
    return api.as_(account)


def expected(row, caller):
    if row.public:
        return "2xx"
    if caller in LOCKED_OUT:
        return LOCKED_OUT[caller]
    if row.every is not None:
        return row.every
    if caller in row.allowed:
        return row.answer or "2xx"
    return ACCESS_DENIED


@pytest.mark.gen_test(timeout=300)
async def test_permission_matrix(api, db):
    await build_world(api)
    failures = []
    for (_, method), row in MATRIX.items():
        for caller in CALLERS:
            try:
                request = await row.setup(api)
            except AssertionError as exc:
                failures.append(f"{method} {row.setup.__name__}: set-up failed: {exc}")
                break
            want = expected(row, caller)
            probe = request.get("probe")
            # the probe (a GET) first: a read may store what it computes (RSE usage)
            before = ((await api.get(probe)).body if probe else None), snapshot(db)
            response = await caller_api(api, caller, request.get("owner", "jdoe")).request(
                method, request["path"], request.get("body"), headers=request.get("headers"))
            got = (response.status, response.exception_class)
            label = f"{method} {request['path']} as {caller}"
            if want == "2xx":
                if not 200 <= response.status < 300:
                    failures.append(f"{label}: expected 2xx, got {response!r}")
                continue
            if got != want:
                failures.append(f"{label}: expected {want}, got {response!r}")
            after_rows = snapshot(db)
            after = ((await api.get(probe)).body if probe else None), after_rows
            if after != before:
                failures.append(f"{label}: refused ({got}) but changed the database")
    assert not failures, f"{len(failures)} cells differ:\n" + "\n".join(failures)


@pytest.mark.gen_test
async def test_plain_users_register_files_only_on_open_rses_and_in_their_scopes(api, db):
    """The two conditions of POST /replicas: the RSE (*SCRATCHDISK ...) and, for a new file,
    the scope (its owner, root/admin); an existing file needs no scope permission."""
    await build_world(api)
    jdoe, jsmith = api.as_("jdoe"), api.as_("jsmith")

    def files(name):
        return [{"scope": SCOPE, "name": name, "bytes": 1, "adler32": ADLER}]
    assert (await jdoe.post("/replicas", {"rse": OTHER_RSE, "files": files("f1")})).status == 401
    assert (await jsmith.post("/replicas", {"rse": FILE_RSE, "files": files("f1")})).status == 401
    assert (await jdoe.post("/replicas", {"rse": FILE_RSE, "files": files("f1")})).status == 201
    # the file exists now: another account may add its replica on an open RSE
    assert (await api.post(f"/rses/{rse_name()}")).status == 201
    scratch = "OTHER_SCRATCHDISK"
    await new_rse(api, scratch)
    assert (await jsmith.post("/replicas", {"rse": scratch, "files": files("f1")})).status == 201
    # a batch with one foreign new file is refused whole
    response = await jsmith.post("/replicas", {"rse": scratch, "files": files("f2") + [
        {"scope": SCOPE, "name": "f1", "bytes": 1, "adler32": ADLER}]})
    assert (response.status, response.exception_class) == ACCESS_DENIED
    listed = await api.post("/replicas/list", {"dids": [{"scope": SCOPE, "name": "f2"}]})
    assert listed.lines() == []


@pytest.mark.gen_test
async def test_country_admins_set_limits_on_their_countries_rses(api, db):
    await build_world(api)
    assert (await api.post("/accounts/jsmith/attr/country-ch", {"value": "admin"})).status == 201
    assert (await api.post(f"/rses/{FILE_RSE}/attr/country", {"value": "ch"})).status == 201
    assert (await api.post(f"/rses/{OTHER_RSE}/attr/country", {"value": "de"})).status == 201
    country_admin = api.as_("jsmith")
    ok = await country_admin.post(f"/accounts/jdoe/limits/local/{FILE_RSE}", {"bytes": 7})
    assert ok.status == 201, ok
    refused = await country_admin.post(f"/accounts/jdoe/limits/local/{OTHER_RSE}", {"bytes": 7})
    assert (refused.status, refused.exception_class) == ACCESS_DENIED
    assert (await country_admin.post(f"/accounts/jdoe/limits/global/{FILE_RSE}",
                                     {"bytes": 7})).status == 201
    mixed = await country_admin.post(f"/accounts/jdoe/limits/global/{FILE_RSE}|{OTHER_RSE}",
                                     {"bytes": 7})
    assert (mixed.status, mixed.exception_class) == ACCESS_DENIED
    assert (await country_admin.get("/accounts/jdoe/usage/local")).status == 200
    limits = (await api.get("/accounts/jdoe/limits/local")).json()
    assert limits[FILE_RSE] == 7 and limits[OTHER_RSE] in ("Infinity", float("inf"))
