"""``/requests``: transfer requests of a DID, listings, history, metrics, transfer limits."""
from rucio_tornado.core import requests
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj
from rucio_tornado.web.streaming import write_stream


class RequestHandler(BaseHandler):
    async def get(self, scope, name, rse):
        self.send_json(await self.call(requests.get_request_by_did, scope, name, rse))


class RequestHistoryHandler(BaseHandler):
    async def get(self, scope, name, rse):
        self.send_json(await self.call(requests.get_request_history_by_did, scope, name, rse))


class ListingMixin:
    def endpoints(self):
        return {key: self.arg(key) for key in ("src_rse", "dst_rse", "src_site", "dst_site")}


class RequestListHandler(ListingMixin, BaseHandler):
    async def get(self):
        await self.stream(requests.list_requests, self.arg("request_states"), **self.endpoints())


class RequestHistoryListHandler(ListingMixin, BaseHandler):
    async def get(self):
        await self.stream(requests.list_requests_history, self.arg("request_states"),
                          offset=self.arg("offset", 0), limit=self.arg("limit", 100),
                          **self.endpoints())


class RequestMetricsHandler(BaseHandler):
    async def get(self):
        metrics = await self.call(requests.get_request_metrics, dst_rse=self.arg("dst_rse"),
                                  src_rse=self.arg("src_rse"), activity=self.arg("activity"),
                                  group_by_rse_attribute=self.arg("group_by_rse_attribute"))
        if self.arg("format") == "panda":
            return self.send_json(metrics)
        await write_stream(self, [list(metrics.values())])


#: The optional keys of a transfer limit (``set_transfer_limit``).
_LIMIT_OPTIONS = ("activity", "direction", "volume", "deadline", "strategy", "transfers",
                  "waitings")


class TransferLimitsHandler(BaseHandler):
    async def get(self):
        await self.stream(requests.list_transfer_limits)

    @accepts(obj(("rse_expression", "max_transfers"), rse_expression=ANY, max_transfers=ANY,
                 **dict.fromkeys(_LIMIT_OPTIONS, ANY)))
    async def put(self):
        body = self.json_body()
        await self.call(requests.set_transfer_limit, body["rse_expression"],
                        body["max_transfers"], **_options(body, _LIMIT_OPTIONS))
        self.created("")

    @accepts(obj(("rse_expression",), rse_expression=ANY, max_transfers=ANY,
                 **dict.fromkeys(_LIMIT_OPTIONS, ANY)))    # a limit's keys: the others ignored
    async def delete(self):
        body = self.json_body()
        await self.call(requests.delete_transfer_limit, body["rse_expression"],
                        **_options(body, ("activity", "direction")))
        self.ok()


def _options(body, names):
    """The named optional keys of ``body`` (others are ignored, as the real server does)."""
    return {name: body.get(name) for name in names}
