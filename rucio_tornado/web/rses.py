"""RSEs, RSE attributes, protocols, distances, RSE usage and RSE limits."""
from rucio_tornado import exceptions
from rucio_tornado.core import account_limits
from rucio_tornado.core.common import optional
from rucio_tornado.core.rses import catalog as rses
from rucio_tornado.core.rses import protocols as rse_protocols
from rucio_tornado.core.rses import usage as rse_usage
from rucio_tornado.web.base import BaseHandler, one_hop
from rucio_tornado.web.schemas import ANY, accepts, obj
from rucio_tornado.web.verbs import action, reader


#: ``{"value"}``: an RSE attribute's value.
_VALUE = obj(("value",), value=ANY)


class RSEListHandler(BaseHandler):
    async def get(self):
        await self.stream(rses.list_rses, self.arg("expression"))


class RSEHandler(BaseHandler):
    get = one_hop(reader(rses.get_rse, short=True))

    @accepts(obj(**dict.fromkeys(sorted(rses.ADD_KEYS), ANY),
                 unknown=exceptions.InvalidRSEProperties), empty={})
    async def post(self, rse):
        await self.call(rses.add_rse, rse, self.json_body())
        self.created()

    put = action(rses.update_rse, created=True, body=obj(
        **dict.fromkeys(sorted(rses.UPDATE_KEYS), ANY), unknown=exceptions.InputValidationError))
    delete = action(rses.delete_rse)


class RSEAttributesHandler(BaseHandler):
    get = reader(rses.list_attributes)


class RSEAttributeHandler(BaseHandler):
    """One attribute: GET ``{key: value}``; POST (client) and PUT (seed) both set it."""
    get = reader(rses.get_attribute)
    post = action(rses.set_attribute, created=True, body=_VALUE, keys=("value",))
    #: The seed's form: an update, 200 as the real server answers its updates.
    put = action(rses.set_attribute, body=_VALUE, keys=("value",))
    delete = action(rses.delete_attribute)


class _ProtocolQuery(BaseHandler):
    async def send_protocols(self, rse, *match):
        """Query ``operation``, ``default`` and ``protocol_domain`` (or ``domain``)."""
        self.send_json(await self.call(
            rse_protocols.get_protocols, rse, *match,
            domain=self.arg("protocol_domain") or self.arg("domain"),
            operation=self.arg("operation"), default=self.flag("default")))


class ProtocolListHandler(_ProtocolQuery):
    async def get(self, rse):
        await self.send_protocols(rse)


class ProtocolHandler(_ProtocolQuery):
    """``/rses/{rse}/protocols/{scheme}[/{hostname}[/{port}]]``."""

    async def get(self, rse, scheme, hostname=None, port=None):
        if hostname is None:
            # The client's form: the real server answers the RSE document with all its
            # protocols whatever the scheme (the client's swap_protocols relies on it).
            self.send_json(await self.call(rses.get_rse, rse))
            return
        await self.send_protocols(rse, scheme, hostname, port)

    @accepts(obj(**dict.fromkeys(rse_protocols.PROTOCOL_KEYS + rse_protocols.IGNORED_KEYS,
                                 ANY)))
    async def post(self, rse, scheme, hostname=None, port=None):
        params = self.json_body()
        if hostname is not None:
            params.setdefault("hostname", hostname)
        if port is not None:
            params.setdefault("port", port)
        await self.call(rse_protocols.add_protocol, rse, scheme, params)
        self.created()

    @accepts(obj(**dict.fromkeys(rse_protocols.UPDATABLE_KEYS, ANY)))
    async def put(self, rse, scheme, hostname=None, port=None):
        await self.call(rse_protocols.update_protocols, rse, scheme, self.json_body(),
                        hostname, port)
        self.ok()

    async def delete(self, rse, scheme, hostname=None, port=None):
        await self.call(rse_protocols.delete_protocols, rse, scheme, hostname, port)
        self.ok()


class DistanceHandler(BaseHandler):
    """Body ``{"distance" (or the older "ranking"), "bidirectional"}``; other keys are
    ignored, as the real server does (the client sends the caller's own dictionary)."""
    BODY = obj(distance=ANY, ranking=ANY, bidirectional=ANY, extra=True)

    def distance_args(self):
        body = self.json_body()
        return body.get("distance", body.get("ranking")), body.get("bidirectional", False)

    get = reader(rse_protocols.get_distance)

    @accepts(BODY)
    async def post(self, source, destination):
        await self.call(rse_protocols.add_distance, source, destination, *self.distance_args())
        self.created()

    @accepts(BODY)
    async def put(self, source, destination):
        await self.call(rse_protocols.update_distance, source, destination,
                        *self.distance_args())
        self.ok()

    async def delete(self, source, destination):
        await self.call(rse_protocols.delete_distance, source, destination,
                        self.flag("bidirectional"))
        self.ok()


class RSEUsageHandler(BaseHandler):
    async def get(self, rse):
        await self.stream(rse_usage.get_rse_usage, rse, source=self.arg("source"),
                          per_account=self.flag("per_account"))

    @accepts(obj(("source", "used"), source=ANY, used=ANY, free=ANY, files=ANY))
    async def put(self, rse):
        body = self.json_body()
        await self.call(rse_usage.set_rse_usage, rse, body["source"],
                        body["used"], optional(body, "free"),
                        optional(body, "files"))
        self.ok()


class RSEUsageHistoryHandler(BaseHandler):
    async def get(self, rse):
        await self.stream(rse_usage.list_rse_usage_history, rse, source=self.arg("source"))


class RSELimitsHandler(BaseHandler):
    get = reader(rse_usage.get_rse_limits)
    put = action(rse_usage.set_rse_limit, keys=("name", "value"),
                 body=obj(("name", "value"), name=ANY, value=ANY))
    delete = action(rse_usage.delete_rse_limit, keys=("name",), body=obj(("name",), name=ANY))


class RSEAccountUsageHandler(BaseHandler):
    """``/rses/{rse}/accounts/usage``: every account's usage and local limit on the RSE."""

    async def get(self, rse):
        await self.stream(account_limits.get_rse_account_usage, rse)
