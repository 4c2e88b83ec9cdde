"""VOs: ``/vos/``, ``/vos/{vo}``, ``/vos/{vo}/recover`` (single-VO answers, see core/vos.py)."""
from rucio_tornado.core import vos
from rucio_tornado.core.common import optional, require, to_bool
from rucio_tornado.web.base import BaseHandler


class VOListHandler(BaseHandler):
    async def get(self):
        await self.stream(vos.list_vos)


class VOHandler(BaseHandler):
    def _details(self, body):
        return (optional(body, "description", str), optional(body, "email", str))

    async def post(self, vo):
        await self.call(vos.add_vo, vo, *self._details(self.json_body(dict, default={})))
        self.created()

    async def put(self, vo):
        await self.call(vos.update_vo, vo, *self._details(self.json_body(dict)))
        self.ok()


class VORecoverHandler(BaseHandler):
    async def post(self, vo):
        body = self.json_body(dict)
        await self.call(vos.recover_vo_root_identity, vo, require(body, "identity", str),
                        require(body, "authtype", str), require(body, "email", str),
                        optional(body, "password", str),
                        to_bool(optional(body, "default", default=False), "default"))
        self.created()
