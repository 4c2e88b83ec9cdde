"""DIRAC file registration, quarantined replicas, the opendata catalog and signed URLs."""
from rucio_tornado import exceptions
from rucio_tornado.core import dirac, opendata, quarantine, signed_urls
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


class DiracAddFilesHandler(BaseHandler):
    """``POST /dirac/addfiles``: ``{"lfns", "ignore_availability", "parents_metadata"}``."""

    @accepts(obj(("lfns",), lfns=ANY, ignore_availability=ANY, parents_metadata=ANY))
    async def post(self):
        body = self.json_body()
        await self.call(dirac.add_files, body["lfns"],
                        ignore_availability=body.get("ignore_availability") or False,
                        parents_metadata=body.get("parents_metadata"))
        self.created()


class QuarantineHandler(BaseHandler):
    """``POST /replicas/quarantine``: ``{"replicas", "rse" | "rse_id"}``; 200, empty."""

    @accepts(obj(replicas=ANY, rse=ANY, rse_id=ANY))
    async def post(self):
        body = self.json_body()
        await self.call(quarantine.quarantine_replicas, body.get("replicas") or [],
                        rse=body.get("rse"), rse_id=body.get("rse_id"))
        self.ok()


def _int_arg(handler, name):
    value = handler.arg(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise exceptions.OpenDataError(f"{name} must be an integer: {value!r}") from None


def _one(handler, name, default):
    return handler.arg(name, default).lower() == "1"


class OpenDataListHandler(BaseHandler):
    """``GET /opendata/dids`` (``state``, ``limit``, ``offset``)."""
    public = False

    async def get(self):
        result = await self.run(opendata.list_opendata_dids, self.issuer,
                                state="public" if self.public else self.arg("state"),
                                limit=_int_arg(self, "limit"), offset=_int_arg(self, "offset"))
        self.send_json(result)


class OpenDataDIDHandler(BaseHandler):
    """``GET|POST|PUT|DELETE /opendata/dids/{scope}/{name}``."""
    public = False

    async def get(self, scope, name):
        result = await self.run(
            opendata.get_opendata_did, None if self.public else self.issuer, scope, name,
            state=None if self.public else self.arg("state"), files=_one(self, "files", "0"),
            meta=_one(self, "meta", "0"), doi=_one(self, "doi", "1"),
            record_id=_one(self, "record_id", "1"),
            download_urls=_one(self, "download_urls", "0"))
        self.send_json(result)

    async def post(self, scope, name):
        await self.call(opendata.add_opendata_did, scope, name)
        self.set_status(201)
        self.set_header("Content-Type", "application/json")
        self.finish()

    @accepts(obj(state=ANY, meta=ANY, doi=ANY, record_id=ANY))
    async def put(self, scope, name):
        body = self.json_body()
        result = await self.call(opendata.update_opendata_did, scope, name,
                                 state=body.get("state"), meta=body.get("meta"),
                                 doi=body.get("doi"), record_id=body.get("record_id"))
        self.send_json(result)

    async def delete(self, scope, name):
        await self.call(opendata.delete_opendata_did, scope, name)
        self.set_status(204)
        self.finish()


class PublicOpenDataListHandler(OpenDataListHandler):
    """``GET /opendata/public/dids``: public entries; no token needed."""
    auth_required, public = False, True


class PublicOpenDataDIDHandler(BaseHandler):
    """``GET /opendata/public/dids/{scope}/{name}``: a public entry; no token needed."""
    auth_required, public = False, True
    get = OpenDataDIDHandler.get


class SignURLHandler(BaseHandler):
    """``GET /credentials/signurl`` (``rse``, ``url``, ``svc``, ``op``, ``lifetime``): the
    signed URL as text."""

    async def get(self):
        lifetime = self.arg("lifetime")
        try:
            lifetime = signed_urls.DEFAULT_LIFETIME if lifetime is None else int(lifetime)
        except ValueError:       # as the real server (Flask's type=int): the default
            lifetime = signed_urls.DEFAULT_LIFETIME
        result = await self.call(signed_urls.get_signed_url, self.arg("rse"), self.arg("url"),
                                 service=self.arg("svc", "gcs"),
                                 operation=self.arg("op", "read"), lifetime=lifetime,
                                 credentials_file=self.config.rse_accounts)
        self.set_header("Content-Type", "text/plain")
        self.finish(result)


