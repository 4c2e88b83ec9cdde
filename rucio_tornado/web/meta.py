"""Metadata keys: the ``/meta/`` routes (keys with default values) and the client's
``/meta_conventions/`` (keys with allowed values)."""
from rucio_tornado.core.dids import meta
from rucio_tornado.core.common import optional
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj
from rucio_tornado.web.verbs import action, reader


#: A key's type and the type and pattern of its values.
_KEY_OPTIONS = {"key_type": str, "value_type": str, "value_regexp": str}


def _key_options(body):
    return {"key_type": optional(body, "key_type"),
            "value_type": optional(body, "value_type"),
            "value_regexp": optional(body, "value_regexp")}


class KeysWithDefaultsHandler(BaseHandler):
    """``GET /meta/``: every key with its default value."""
    get = reader(meta.list_keys_with_defaults)


class KeyWithDefaultHandler(BaseHandler):
    """``POST /meta/{key}`` (optional default ``value``), ``DELETE /meta/{key}``."""

    @accepts(obj(value=ANY, default=ANY, **_KEY_OPTIONS), empty={})
    async def post(self, key):
        body = self.json_body()
        default = body.get("value", body.get("default"))
        await self.call(meta.add_key, key, default=default, **_key_options(body))
        self.created()

    delete = action(meta.delete_key)


class KeyDefaultHandler(BaseHandler):
    """``POST /meta/{key}/{default}``: set the key's default value (creating the key if new);
    ``DELETE /meta/{key}/{default}``: the key's default value becomes NULL."""

    post = action(meta.set_default, created=True)
    delete = action(meta.delete_default)


class ConventionKeysHandler(BaseHandler):
    get = reader(meta.list_keys)


class ConventionKeyHandler(BaseHandler):
    """``POST /meta_conventions/{key}``: add a key."""

    @accepts(obj(**_KEY_OPTIONS), empty={})
    async def post(self, key):
        await self.call(meta.add_key, key, **_key_options(self.json_body()))
        self.created()


class ConventionValuesHandler(BaseHandler):
    """``/meta_conventions/{key}/``: list or add allowed values."""
    get = reader(meta.list_values)
    post = action(meta.add_value, created=True, keys=("value",), body=obj(("value",), value=ANY))
