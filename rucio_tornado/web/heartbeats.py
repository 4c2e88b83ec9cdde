"""Heartbeats: ``GET /heartbeats`` (list) and ``POST /heartbeats`` (one beat)."""
from rucio_tornado.core import heartbeats
from rucio_tornado.core.common import optional
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


class HeartbeatsHandler(BaseHandler):
    async def get(self):
        self.send_json(await self.call(heartbeats.list_heartbeats))

    @accepts(obj(("executable", "hostname", "pid"), executable=ANY, hostname=ANY, pid=ANY,
                 older_than=ANY, payload=ANY))
    async def post(self):
        body = self.json_body()
        await self.call(heartbeats.send_heartbeat, body["executable"],
                        body["hostname"], body["pid"],
                        optional(body, "older_than"), optional(body, "payload"))
        self.set_status(200)
        self.finish("OK")
