"""``GET /export`` and ``POST /import``: the deployment document (``rucio-admin data``)."""
from rucio_tornado.core import exchange
from rucio_tornado.web.base import BaseHandler


class ExportHandler(BaseHandler):
    async def get(self):
        self.send_json(await self.call(exchange.export_data, self.flag("distance", True)))


class ImportHandler(BaseHandler):
    async def post(self):
        await self.call(exchange.import_data, self.json_body(dict))
        self.created()
