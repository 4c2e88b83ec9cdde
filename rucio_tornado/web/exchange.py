"""``GET /export`` and ``POST /import``: the deployment document (``rucio-admin data``)."""
from rucio_tornado.core import exchange
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import accepts, obj


class ExportHandler(BaseHandler):
    async def get(self):
        self.send_json(await self.call(exchange.export_data, self.flag("distance", True)))


class ImportHandler(BaseHandler):
    @accepts(obj(extra=True))      # the export document; its parts are the core's to check
    async def post(self):
        await self.call(exchange.import_data, self.json_body())
        self.created()
