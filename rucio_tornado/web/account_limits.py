"""Account limits (local / global) and account usage."""
from rucio_tornado.core import account_limits
from rucio_tornado.core.common import require
from rucio_tornado.web.base import BaseHandler


class _LimitBody(BaseHandler):
    def limit_bytes(self):
        return require(self.json_body(), "bytes")


class LocalLimitsHandler(_LimitBody):
    """``/accounts/{a}/limits[/local]``: the local limits; seed ``PUT`` body ``{rse, bytes}``."""

    async def get(self, account):
        self.send_json(await self.call(account_limits.get_local_limits, account))

    async def put(self, account):
        body = self.json_body()
        await self.call(account_limits.set_local_limit, account, require(body, "rse", str),
                        require(body, "bytes"))
        self.ok()       # an update: 200, as the real server answers its updates


class LocalLimitHandler(_LimitBody):
    """``/accounts/{a}/limits/local/{rse}`` (also ``/limits/{rse}``, legacy ``/accountlimits``)."""

    async def get(self, account, rse):
        self.send_json(await self.call(account_limits.get_local_limit, account, rse))

    async def post(self, account, rse):
        await self.call(account_limits.set_local_limit, account, rse, self.limit_bytes())
        self.created()

    async def delete(self, account, rse):
        await self.call(account_limits.delete_local_limit, account, rse)
        self.ok()


class GlobalLimitsHandler(BaseHandler):
    async def get(self, account):
        self.send_json(await self.call(account_limits.get_global_limits, account))


class GlobalLimitHandler(_LimitBody):
    """``/accounts/{a}/limits/global/{expr}`` (expr ``quote_plus``-encoded by the client)."""

    async def get(self, account, expression):
        self.send_json(await self.call(account_limits.get_global_limit, account, expression))

    async def post(self, account, expression):
        await self.call(account_limits.set_global_limit, account, expression,
                        self.limit_bytes())
        self.created()

    async def delete(self, account, expression):
        await self.call(account_limits.delete_global_limit, account, expression)
        self.ok()


class LocalUsageHandler(BaseHandler):
    async def get(self, account, rse=None):
        await self.stream(account_limits.get_local_usage, account, rse)


class GlobalUsageHandler(BaseHandler):
    async def get(self, account, expression=None):
        await self.stream(account_limits.get_global_usage, account, expression)


class AccountUsageHistoryHandler(BaseHandler):
    async def get(self, account, rse):
        self.send_json(await self.call(account_limits.get_usage_history, account, rse))
