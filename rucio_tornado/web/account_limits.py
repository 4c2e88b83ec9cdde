"""Account limits (local / global) and account usage."""
from rucio_tornado.core import account_limits
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, obj
from rucio_tornado.web.verbs import action, reader


#: The client's ``{"bytes"}`` (``set_local_account_limit`` / ``set_global_account_limit``).
_LIMIT = obj(("bytes",), bytes=ANY)


class LocalLimitsHandler(BaseHandler):
    """``/accounts/{a}/limits[/local]``: the local limits; seed ``PUT`` body ``{rse, bytes}``."""
    get = reader(account_limits.get_local_limits)

    # an update: 200, as the real server answers its updates
    put = action(account_limits.set_local_limit, keys=("rse", "bytes"),
                 body=obj(("rse", "bytes"), rse=str, bytes=ANY))


def _limit_handler(name, doc, get, set_, delete):
    """The handler of one limit (local: on an RSE; global: on an RSE expression)."""
    return type(name, (BaseHandler,), {
        "__doc__": doc, "get": reader(get), "delete": action(delete),
        "post": action(set_, created=True, body=_LIMIT, keys=("bytes",))})


LocalLimitHandler = _limit_handler(
    "LocalLimitHandler",
    "``/accounts/{a}/limits/local/{rse}`` (also ``/limits/{rse}``, legacy ``/accountlimits``).",
    account_limits.get_local_limit, account_limits.set_local_limit,
    account_limits.delete_local_limit)
GlobalLimitHandler = _limit_handler(
    "GlobalLimitHandler",
    "``/accounts/{a}/limits/global/{expr}`` (expr ``quote_plus``-encoded by the client).",
    account_limits.get_global_limit, account_limits.set_global_limit,
    account_limits.delete_global_limit)


class GlobalLimitsHandler(BaseHandler):
    get = reader(account_limits.get_global_limits)


class LocalUsageHandler(BaseHandler):
    async def get(self, account, rse=None):
        await self.stream(account_limits.get_local_usage, account, rse)


class GlobalUsageHandler(BaseHandler):
    async def get(self, account, expression=None):
        await self.stream(account_limits.get_global_usage, account, expression)


class AccountUsageHistoryHandler(BaseHandler):
    get = reader(account_limits.get_usage_history)
