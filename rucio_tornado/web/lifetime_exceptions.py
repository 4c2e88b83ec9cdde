"""``/lifetime_exceptions``: ask for, list, approve and reject lifetime-model exceptions."""
from rucio_tornado.core import lifetime_exceptions
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


class LifetimeExceptionsHandler(BaseHandler):
    async def get(self):
        await self.stream(lifetime_exceptions.list_exceptions, self.arg("exception_id") or None)

    @accepts(obj(dids=ANY, account=ANY, pattern=ANY, comments=ANY, expires_at=ANY))
    async def post(self):
        body = self.json_body()
        result = await self.call(lifetime_exceptions.add_exception, body.get("dids", []),
                                 pattern=body.get("pattern"), comments=body.get("comments"),
                                 expires_at=body.get("expires_at"))
        self.send_json(result, status=201)


class LifetimeExceptionHandler(BaseHandler):
    async def get(self, exception_id):
        await self.stream(lifetime_exceptions.get_exception, exception_id)

    @accepts(obj(state=ANY))
    async def put(self, exception_id):
        body = self.json_body()
        await self.call(lifetime_exceptions.update_exception, exception_id, body.get("state"))
        self.created()
