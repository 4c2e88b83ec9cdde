"""New DIDs, resurrection, samples and followers of DIDs (core/dids/extras.py)."""
from rucio_tornado.core.dids import extras
from rucio_tornado.web.base import JSON_TYPE, BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, array, obj
from rucio_tornado.web.streaming import write_stream


class NewDIDsHandler(BaseHandler):
    """``GET /dids/new?type=``: DIDs the subscriptions have not seen yet, streamed."""

    async def get(self):
        await self.stream(extras.list_new_dids, did_type=self.arg("type"))


class ResurrectHandler(BaseHandler):
    """``POST /dids/resurrect``: ``[{"scope", "name"}]`` deleted or expired DIDs come back."""

    @accepts(array())
    async def post(self):
        await self.call(extras.resurrect, self.json_body())
        self.created()


SAMPLE_KEYS = ("input_scope", "input_name", "output_scope", "output_name", "nbfiles")


class SampleHandler(BaseHandler):
    """``POST /dids/sample`` (the arguments in the body) and the legacy
    ``POST /dids/{input_scope}/{input_name}/{output_scope}/{output_name}/{nbfiles}/sample``."""

    @accepts(obj(SAMPLE_KEYS, **dict.fromkeys(SAMPLE_KEYS, ANY)))
    async def post(self, *path):
        if path:
            arguments = path
        else:
            body = self.json_body()
            arguments = [body[key] for key in SAMPLE_KEYS]
        await self.call(extras.create_did_sample, *arguments)
        self.created()


_ACCOUNT = obj(("account",), account=str)


class FollowHandler(BaseHandler):
    """``GET|POST|DELETE /dids/{scope}/{name}/follow``: the followers of a DID; following
    (``{"account"}``, 201) and no longer following (200)."""

    async def get(self, scope, name):
        # one JSON object a line, labelled application/json as the real server does
        followers = await self.call(extras.get_users_following_did, scope, name)
        await write_stream(self, [followers], content_type=JSON_TYPE)

    @accepts(_ACCOUNT)
    async def post(self, scope, name):
        await self.call(extras.add_did_to_followed, scope, name, self._account())
        self.created()

    @accepts(_ACCOUNT)
    async def delete(self, scope, name):
        await self.call(extras.remove_did_from_followed, scope, name, self._account())
        self.ok()

    def _account(self):
        return self.json_body()["account"]
