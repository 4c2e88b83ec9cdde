"""RSEs, RSE attributes, protocols, distances, RSE usage and RSE limits."""
from rucio_tornado.core import account_limits
from rucio_tornado.core.common import optional, require
from rucio_tornado.core.rses import catalog as rses
from rucio_tornado.core.rses import protocols as rse_protocols
from rucio_tornado.core.rses import usage as rse_usage
from rucio_tornado.web.base import BaseHandler, one_hop


class RSEListHandler(BaseHandler):
    async def get(self):
        await self.stream(rses.list_rses, self.arg("expression"))


class RSEHandler(BaseHandler):
    @one_hop
    async def get(self, rse):
        self.send_json(await self.call(rses.get_rse, rse))

    async def post(self, rse):
        await self.call(rses.add_rse, rse, self.json_body(default={}))
        self.created()

    async def put(self, rse):
        await self.call(rses.update_rse, rse, self.json_body())
        self.created()

    async def delete(self, rse):
        await self.call(rses.delete_rse, rse)
        self.ok()


class RSEAttributesHandler(BaseHandler):
    async def get(self, rse):
        self.send_json(await self.call(rses.list_attributes, rse))


class RSEAttributeHandler(BaseHandler):
    """One attribute: GET ``{key: value}``; POST (client) and PUT (seed) both set it."""

    async def get(self, rse, key):
        self.send_json(await self.call(rses.get_attribute, rse, key))

    async def set(self, rse, key):
        await self.call(rses.set_attribute, rse, key, require(self.json_body(), "value"))

    async def post(self, rse, key):
        await self.set(rse, key)
        self.created()

    async def put(self, rse, key):
        """The seed's form: an update, 200 as the real server answers its updates."""
        await self.set(rse, key)
        self.ok()

    async def delete(self, rse, key):
        await self.call(rses.delete_attribute, rse, key)
        self.ok()


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

    async def post(self, rse, scheme, hostname=None, port=None):
        params = self.json_body()
        if hostname is not None:
            params.setdefault("hostname", hostname)
        if port is not None:
            params.setdefault("port", port)
        await self.call(rse_protocols.add_protocol, rse, scheme, params)
        self.created()

    async def put(self, rse, scheme, hostname=None, port=None):
        await self.call(rse_protocols.update_protocols, rse, scheme, self.json_body(),
                        hostname, port)
        self.ok()

    async def delete(self, rse, scheme, hostname=None, port=None):
        await self.call(rse_protocols.delete_protocols, rse, scheme, hostname, port)
        self.ok()


class DistanceHandler(BaseHandler):
    """Body ``{"distance" (or the older "ranking"), "bidirectional"}``."""

    def distance_args(self):
        body = self.json_body()
        return body.get("distance", body.get("ranking")), body.get("bidirectional", False)

    async def get(self, source, destination):
        self.send_json(await self.call(rse_protocols.get_distance, source, destination))

    async def post(self, source, destination):
        await self.call(rse_protocols.add_distance, source, destination, *self.distance_args())
        self.created()

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

    async def put(self, rse):
        body = self.json_body()
        await self.call(rse_usage.set_rse_usage, rse, require(body, "source"),
                        require(body, "used"), optional(body, "free"),
                        optional(body, "files"))
        self.ok()


class RSEUsageHistoryHandler(BaseHandler):
    async def get(self, rse):
        await self.stream(rse_usage.list_rse_usage_history, rse, source=self.arg("source"))


class RSELimitsHandler(BaseHandler):
    async def get(self, rse):
        self.send_json(await self.call(rse_usage.get_rse_limits, rse))

    async def put(self, rse):
        body = self.json_body()
        await self.call(rse_usage.set_rse_limit, rse, require(body, "name"),
                        require(body, "value"))
        self.ok()

    async def delete(self, rse):
        await self.call(rse_usage.delete_rse_limit, rse, require(self.json_body(), "name"))
        self.ok()


class RSEAccountUsageHandler(BaseHandler):
    """``/rses/{rse}/accounts/usage``: every account's usage and local limit on the RSE."""

    async def get(self, rse):
        await self.stream(account_limits.get_rse_account_usage, rse)
