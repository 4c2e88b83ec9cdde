"""``/locks``: dataset locks by RSE, by DID, and for a list of DIDs (streamed)."""
from rucio_tornado import exceptions
from rucio_tornado.core import locks
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


class LocksByRSEHandler(BaseHandler):
    async def get(self, rse):
        locks.check_did_type(self.arg("did_type"))
        await self.stream(locks.dataset_locks_by_rse, rse)


class LocksByDIDHandler(BaseHandler):
    async def get(self, scope, name):
        locks.check_did_type(self.arg("did_type"))
        await self.stream(locks.dataset_locks, scope, name)


class BulkLocksHandler(BaseHandler):
    @accepts(obj(dids=ANY))      # a missing "dids": the real server's own message, below
    async def post(self):
        body = self.json_body()
        if "dids" not in body:
            raise exceptions.MissingKey(
                'Can not find the list of DIDs in the data. Use "dids" keyword.')
        await self.stream(locks.locks_for_dids, body["dids"])
