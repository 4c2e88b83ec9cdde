"""Metadata keys: the ``/meta/`` routes (keys with default values) and the client's
``/meta_conventions/`` (keys with allowed values)."""
from rucio_tornado.core.dids import meta
from rucio_tornado.core.common import optional, require
from rucio_tornado.web.base import BaseHandler


def _key_options(body):
    return {"key_type": optional(body, "key_type", str),
            "value_type": optional(body, "value_type", str),
            "value_regexp": optional(body, "value_regexp", str)}


class KeysWithDefaultsHandler(BaseHandler):
    """``GET /meta/``: every key with its default value."""

    async def get(self):
        self.send_json(await self.call(meta.list_keys_with_defaults))


class KeyWithDefaultHandler(BaseHandler):
    """``POST /meta/{key}`` (optional default ``value``), ``DELETE /meta/{key}``."""

    async def post(self, key):
        body = self.json_body(default={})
        default = body.get("value", body.get("default"))
        await self.call(meta.add_key, key, default=default, **_key_options(body))
        self.created()

    async def delete(self, key):
        await self.call(meta.delete_key, key)
        self.ok()


class KeyDefaultHandler(BaseHandler):
    """``POST /meta/{key}/{default}``: set the key's default value (creating the key if new);
    ``DELETE /meta/{key}/{default}``: the key's default value becomes NULL."""

    async def post(self, key, default):
        await self.call(meta.set_default, key, default)
        self.created()

    async def delete(self, key, default):
        await self.call(meta.delete_default, key, default)
        self.ok()


class ConventionKeysHandler(BaseHandler):
    async def get(self):
        self.send_json(await self.call(meta.list_keys))


class ConventionKeyHandler(BaseHandler):
    """``POST /meta_conventions/{key}``: add a key."""

    async def post(self, key):
        await self.call(meta.add_key, key, **_key_options(self.json_body(default={})))
        self.created()


class ConventionValuesHandler(BaseHandler):
    """``/meta_conventions/{key}/``: list or add allowed values."""

    async def get(self, key):
        self.send_json(await self.call(meta.list_values, key))

    async def post(self, key):
        await self.call(meta.add_value, key, require(self.json_body(), "value"))
        self.created()
