"""Replicas: registration, states, tombstones, bad replicas, listings (API.md §4.6)."""
from rucio_tornado.core.replicas import bad as bad_replicas
from rucio_tornado.core.replicas import datasets as dataset_replicas
from rucio_tornado.core.replicas import listing as replica_list
from rucio_tornado.core.replicas import pfns
from rucio_tornado.core.replicas import registration as replicas
from rucio_tornado.core.common import optional, to_bool
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, bulk, obj
from rucio_tornado.web.streaming import encode_text, write_stream

METALINK_TYPE = "application/metalink4+xml"
#: Body keys of ``POST /replicas/list`` passed on to the core; the others are accepted and
#: ignored (``client_location``, ``signature_lifetime``, ``resolve_archives``).
LIST_OPTIONS = {"schemes": list, "ignore_availability": bool, "all_states": bool,
                "unavailable": bool, "rse_expression": str, "resolve_parents": bool,
                "updated_after": (str, int, float), "nrandom": int, "domain": str, "sort": str}
#: Keys of a file in ``/replicas`` bodies: what the real server reads of one (the upload
#: client's ``_convert_file_for_api`` sends the first eight), and the attributes of a listing's
#: rows passed back as they are.
FILE_KEYS = ("scope", "name", "bytes", "adler32", "md5", "meta", "pfn", "state", "path",
             "tombstone", "lock_cnt", "account", "guid", "events", "type", "did_type",
             "error_message")


class ReplicaStreamMixin:
    """Streams a replica listing as JSON lines, or Metalink XML when the client asks for it."""

    def wants_metalink(self):
        return "metalink4+xml" in self.request.headers.get("Accept", "")

    async def stream_replicas(self, fn, *args, metalink=(), **options):
        """The core yields batches of ready JSON lines (text); Metalink parses them back.
        A Metalink listing without ``schemes`` offers every supported scheme (as the real
        server); ``metalink``: the arguments of :func:`as_metalink`."""
        wanted = self.wants_metalink()
        if wanted and not options.get("schemes"):
            options["schemes"] = list(pfns.SUPPORTED_SCHEMES)
        source = await self.call(fn, *args, **options)
        if not wanted:
            return await write_stream(self, source, encode=encode_text)
        return await write_stream(self, replica_list.as_metalink(source, *metalink),
                                  encode=encode_text, content_type=METALINK_TYPE)

    def listing_options(self):
        """``GET`` listings: ``?schemes=a,b&all_states&rse_expression=&domain=&select=``."""
        schemes = self.arg("schemes")
        options = {"schemes": [s for s in schemes.split(",") if s] if schemes else None,
                   "all_states": self.flag("all_states"), "unavailable": self.flag("unavailable"),
                   "resolve_parents": self.flag("resolve_parents"),
                   "rse_expression": self.arg("rse_expression"), "domain": self.arg("domain"),
                   "sort": self.arg("select") or self.arg("sort")}
        return {k: v for k, v in options.items() if v is not None}


class ReplicasHandler(BaseHandler):
    """``/replicas``: add (POST), change states (PUT), delete (DELETE)."""
    BODY = obj(("rse", "files"), rse=str, files=bulk(*FILE_KEYS), ignore_availability=ANY)

    async def _apply(self, fn, answer, availability=True):
        """``fn(issuer, rse, files[, ignore_availability=])``, then ``answer()``."""
        # Bodies of 100,000 files take a noticeable time to parse: do it off the IOLoop.
        body = await self.run(self.json_body)
        options = {"ignore_availability": to_bool(body.get("ignore_availability", True))} \
            if availability else {}
        await self.call(fn, body["rse"], body["files"], **options)
        answer()

    @accepts(BODY)
    def post(self):
        return self._apply(replicas.add_replicas, self.created)

    @accepts(BODY)
    def put(self):
        return self._apply(replicas.update_replicas_states, self.ok, availability=False)

    @accepts(BODY)
    def delete(self):
        return self._apply(replicas.delete_replicas, self.ok)


class ListReplicasHandler(ReplicaStreamMixin, BaseHandler):
    """``POST /replicas/list``."""

    @accepts(obj(("dids",), dids=list, **LIST_OPTIONS, client_location=ANY,
                 signature_lifetime=ANY, resolve_archives=ANY))
    async def post(self):
        body = self.json_body()
        options = {key: optional(body, key, kinds) for key, kinds in LIST_OPTIONS.items()
                   if body.get(key) is not None}
        # the real server's default: blocklisted RSEs are left out unless asked for
        options.setdefault("ignore_availability", "unavailable" in body)
        await self.stream_replicas(replica_list.list_replicas, body["dids"],
                                   **options)


class DIDReplicasHandler(ReplicaStreamMixin, BaseHandler):
    """``GET /replicas/{scope}/{name}`` and ``GET /dids/{scope}/{name}/rses/``."""

    async def get(self, scope, name):
        await self.stream_replicas(replica_list.list_did_replicas, scope, name,
                                   metalink=(replica_list.DID_POLICY_SCHEMA, False),
                                   **self.listing_options())


class DatasetReplicasHandler(BaseHandler):
    """``GET /replicas/{scope}/{name}/datasets``."""

    async def get(self, scope, name):
        await self.stream(dataset_replicas.list_dataset_replicas, scope, name,
                          deep=self.flag("deep"))


class DatasetReplicasBulkHandler(BaseHandler):
    """``POST /replicas/datasets_bulk``."""

    @accepts(obj(("dids",), dids=list))
    async def post(self):
        await self.stream(dataset_replicas.list_dataset_replicas_bulk,
                          self.json_body()["dids"])


class DatasetsPerRSEHandler(BaseHandler):
    """``GET /replicas/rse/{rse}``."""

    async def get(self, rse):
        await self.stream(dataset_replicas.list_datasets_per_rse, rse)


class SetTombstonesHandler(BaseHandler):
    """``POST /replicas/tombstone``."""

    @accepts(obj(("replicas",), replicas=list))
    async def post(self):
        await self.call(replicas.set_tombstone, self.json_body()["replicas"])
        self.created()


class DeclareBadReplicasHandler(BaseHandler):
    """``POST /replicas/bad``: by PFN or by DID and RSE."""

    @accepts(obj(("replicas",), replicas=list, reason=str, force=ANY))
    async def post(self):
        body = self.json_body()
        result = await self.call(bad_replicas.declare_bad_replicas, body["replicas"],
                                 optional(body, "reason"),
                                 force=to_bool(body.get("force", False)))
        self.send_json(result, status=201)


class DeclareBadDIDReplicasHandler(BaseHandler):
    """``POST /replicas/bad/dids``: the replicas of DIDs on one RSE."""

    @accepts(obj(("rse", "dids"), rse=str, dids=list, reason=str))
    async def post(self):
        body = self.json_body()
        result = await self.call(bad_replicas.declare_bad_did_replicas, body["rse"],
                                 body["dids"], optional(body, "reason"))
        self.send_json(result, status=201)


class AddBadPFNsHandler(BaseHandler):
    """``POST /replicas/bad/pfns``."""

    @accepts(obj(("pfns", "state"), pfns=list, reason=str, state=str,
                 expires_at=(str, int, float)))
    async def post(self):
        body = self.json_body()
        await self.call(bad_replicas.add_bad_pfns, body["pfns"],
                        optional(body, "reason"), body["state"],
                        expires_at=optional(body, "expires_at"))
        self.created()


class DIDsFromPFNsHandler(BaseHandler):
    """``POST /replicas/dids``."""

    @accepts(obj(("pfns",), pfns=list, rse=str))
    async def post(self):
        body = self.json_body()
        await self.stream(pfns.dids_from_pfns, body["pfns"],
                          rse=optional(body, "rse"))


def _args(handler, *names):
    """The given query arguments that are present, as keyword arguments."""
    return {name: handler.arg(name) for name in names if handler.arg(name) is not None}


class BadReplicaStatesHandler(BaseHandler):
    """``GET /replicas/bad/states?state=&rse=&younger_than=&older_than=&limit=``."""

    async def get(self):
        await self.stream(bad_replicas.list_bad_replicas_status, **_args(
            self, "state", "rse", "younger_than", "older_than", "limit"))


class BadReplicaSummaryHandler(BaseHandler):
    """``GET /replicas/bad/summary?rse_expression=&from_date=&to_date=``."""

    async def get(self):
        await self.stream(bad_replicas.bad_replicas_summary, **_args(
            self, "rse_expression", "from_date", "to_date"))


class SuspiciousReplicasHandler(BaseHandler):
    """``/replicas/suspicious``: declare (POST) and list (GET, one JSON document)."""

    @accepts(obj(("pfns",), pfns=list, reason=str))
    async def post(self):
        body = self.json_body()
        result = await self.call(bad_replicas.declare_suspicious_file_replicas,
                                 body["pfns"], optional(body, "reason"))
        self.send_json(result, status=201)

    async def get(self):
        self.send_json(await self.call(bad_replicas.list_suspicious_replicas, **_args(
            self, "rse_expression", "younger_than", "nattempts")))
