"""VOs: ``/vos/``, ``/vos/{vo}``, ``/vos/{vo}/recover`` (single-VO answers, see core/vos.py)."""
from rucio_tornado.core import vos
from rucio_tornado.core.common import optional, to_bool
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


class VOListHandler(BaseHandler):
    async def get(self):
        await self.stream(vos.list_vos)


_DETAILS = {"description": str, "email": str}


class VOHandler(BaseHandler):
    def _details(self, body):
        return (optional(body, "description"), optional(body, "email"))

    @accepts(obj(**_DETAILS), empty={})
    async def post(self, vo):
        await self.call(vos.add_vo, vo, *self._details(self.json_body()))
        self.created()

    @accepts(obj(**_DETAILS))
    async def put(self, vo):
        await self.call(vos.update_vo, vo, *self._details(self.json_body()))
        self.ok()


class VORecoverHandler(BaseHandler):
    @accepts(obj(("identity", "authtype", "email"), identity=str, authtype=str, email=str,
                 password=str, default=ANY))
    async def post(self, vo):
        body = self.json_body()
        await self.call(vos.recover_vo_root_identity, vo, body["identity"],
                        body["authtype"], body["email"],
                        optional(body, "password"),
                        to_bool(optional(body, "default", default=False), "default"))
        self.created()
