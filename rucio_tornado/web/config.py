"""The configuration table: ``/config[/{section}[/{option}[/{value}]]]``."""
from rucio_tornado.core import config_table
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import accepts, obj


class ConfigHandler(BaseHandler):
    """``GET /config``: the whole table; ``POST /config``: ``{section: {option: value}}``."""

    async def get(self):
        self.send_json(await self.call(config_table.list_config))

    @accepts(obj(extra=True))      # sections by name; the core checks their options
    async def post(self):
        await self.call(config_table.set_options, self.json_body())
        self.created()


class SectionHandler(BaseHandler):
    async def get(self, section):
        self.send_json(await self.call(config_table.get_section, section))

    async def delete(self, section):
        await self.call(config_table.delete_section, section)
        self.ok()


class OptionHandler(BaseHandler):
    async def get(self, section, option):
        self.send_json(await self.call(config_table.get_option, section, option))

    async def delete(self, section, option):
        await self.call(config_table.delete_option, section, option)
        self.ok()


class OptionValueHandler(BaseHandler):
    """``PUT /config/{section}/{option}/{value}``: the older clients' way to set an option."""

    async def put(self, section, option, value):
        await self.call(config_table.set_option, section, option, value)
        self.created()
