"""Data identifiers: creation, status, hierarchy, listings, search and DID metadata."""
from rucio_tornado import exceptions
from rucio_tornado.core import workflows
from rucio_tornado.core.common import optional
from rucio_tornado.core.dids import catalog as dids
from rucio_tornado.core.dids import meta
from rucio_tornado.core.dids import search as did_search
from rucio_tornado.web.base import BaseHandler, one_hop
from rucio_tornado.web.schemas import ANY, accepts, bulk, either, obj

#: Last path parts of ``/dids/{scope}/{name}/{part}`` that are sub-resources, never a child
#: name to attach.
SUB_RESOURCES = ("dids", "meta", "status", "files", "rules", "parents", "associated_rules")
#: The keys of a DID attached to a collection: the file's attributes when it is registered
#: on the ``rse`` of the attachment, and those of a listing's rows (passed back as they are).
CHILD_KEYS = (*workflows.REPLICA_FILE_KEYS, "type", "did_type", "guid", "events", "state")
ATTACHMENTS = bulk("scope", "name", "rse", dids=bulk(*CHILD_KEYS))


class SearchHandler(BaseHandler):
    """``GET /dids/{scope}/dids/search``: the DIDs of one scope matching the filters."""

    async def get(self, scope):
        await self._search(scope)

    async def _search(self, scope):
        args = did_search.search_args(self.query_filters())
        await self.stream(did_search.search, scope, args["filters"], did_type=args["did_type"],
                          long=args["long"], recursive=args["recursive"], limit=args["limit"])


class DIDsHandler(SearchHandler):
    """``POST /dids``: bulk creation; ``GET /dids/``: search over all scopes."""

    @accepts(bulk(*dids.NEW_DID_KEYS, *workflows.FOLLOW_UP_KEYS))
    async def post(self):
        await self.call(workflows.add_dids, self.json_body())
        self.created()

    async def get(self):
        await self._search(None)


class ScopeListHandler(BaseHandler):
    """``GET /dids/{scope}/``: the scope's top-level DIDs (``?name=``, ``?recursive``)."""

    async def get(self, scope):
        await self.stream(dids.scope_list, scope, name=self.arg("name"),
                          recursive=self.flag("recursive"))


class AttachmentsHandler(BaseHandler):
    @accepts(either(obj(("attachments",), attachments=ATTACHMENTS, ignore_duplicate=bool),
                    ATTACHMENTS))
    async def post(self):
        body = self.json_body()
        if isinstance(body, list):
            attachments, ignore = body, False
        else:
            attachments = body["attachments"]
            ignore = optional(body, "ignore_duplicate", default=False)
        await self.call(workflows.attach_dids_to_dids, attachments, ignore_duplicate=ignore)
        self.created()


class BulkFilesHandler(BaseHandler):
    @accepts(obj(("dids",), dids=list))
    async def post(self):
        await self.stream(dids.bulk_list_files, self.json_body()["dids"])


class BulkMetaHandler(BaseHandler):
    """``POST /dids/bulkmeta``: metadata of many DIDs, streamed."""

    @accepts(obj(("dids",), dids=list, inherit=bool, plugin=str))
    async def post(self):
        body = self.json_body()
        await self.stream(meta.get_metadata_bulk, body["dids"],
                          inherit=optional(body, "inherit", default=False),
                          plugin=optional(body, "plugin", default="JSON"))


class BulkDIDsMetaHandler(BaseHandler):
    @accepts(obj(("dids",), dids=list, recursive=bool))
    async def post(self):
        body = self.json_body()
        await self.call(meta.set_dids_metadata_bulk, body["dids"],
                        optional(body, "recursive", default=False))
        self.created()


class DIDHandler(BaseHandler):
    """``/dids/{scope}/{name}``: get, create (collections), obsolete (DELETE)."""

    @one_hop
    async def get(self, scope, name):
        depth = self.arg("dynamic_depth") or ("FILE" if self.flag("dynamic") else None)
        call = self.call if depth else self.read        # with a depth: a sum over the content
        self.send_json(await call(dids.get_did, scope, name, dynamic_depth=depth))

    @accepts(obj(("type",), type=ANY, statuses=dict, meta=dict, rules=list, lifetime=ANY,
                 dids=list, rse=str))
    async def post(self, scope, name):
        body = self.json_body()
        await self.call(workflows.add_did, scope, name, body["type"],
                        statuses=optional(body, "statuses"),
                        meta=optional(body, "meta"), rules=optional(body, "rules"),
                        lifetime=body.get("lifetime"), dids=optional(body, "dids"),
                        rse=optional(body, "rse"))
        self.created()

    async def delete(self, scope, name):
        await self.call(dids.obsolete_did, scope, name)
        self.ok()


class StatusHandler(BaseHandler):
    async def get(self, scope, name):
        self.send_json(await self.call(dids.get_did, scope, name))

    @accepts(obj(**dict.fromkeys(dids.SETTABLE_STATUSES, ANY),
                 unknown=exceptions.UnsupportedStatus))
    async def put(self, scope, name):
        statuses = self.json_body()
        dids.check_statuses(statuses)
        await self.call(dids.set_status, scope, name, open=statuses.get("open"))
        self.ok()


class ContentHandler(BaseHandler):
    """``/dids/{s}/{n}/dids``: list, attach, detach."""

    async def get(self, scope, name):
        await self.stream(dids.list_content, scope, name)

    @accepts(obj(("dids",), dids=bulk(*CHILD_KEYS), rse=str))
    async def post(self, scope, name):
        body = self.json_body()
        await self.call(workflows.attach_dids, scope, name, body["dids"],
                        rse=optional(body, "rse"))
        self.created()

    @accepts(obj(("dids",), dids=list))
    async def delete(self, scope, name):
        await self.call(dids.detach_dids, scope, name, self.json_body()["dids"])
        self.ok()


class ContentListHandler(BaseHandler):
    """``GET /dids/{scope}/{name}/``: the content (as ``GET .../dids``)."""

    async def get(self, scope, name):
        await self.stream(dids.list_content, scope, name)


class AttachChildHandler(BaseHandler):
    """``POST /dids/{scope}/{parent}/{child}``: attach ``scope:child`` into ``scope:parent``."""

    async def post(self, scope, parent, child):
        if child in SUB_RESOURCES:
            raise exceptions.MethodNotAllowed(f"POST is not supported on .../{child}")
        await self.call(dids.attach_dids, scope, parent, [{"scope": scope, "name": child}])
        self.created()


class ContentHistoryHandler(BaseHandler):
    async def get(self, scope, name):
        await self.stream(dids.list_content_history, scope, name)


class FilesHandler(BaseHandler):
    async def get(self, scope, name):
        long = "long" in self.request.query_arguments and self.flag("long")
        await self.stream(dids.list_files, scope, name, long=long)


class ParentsHandler(BaseHandler):
    async def get(self, scope, name):
        await self.stream(dids.list_parent_dids, scope, name)


class GUIDHandler(DIDHandler):
    """``GET /dids/{guid}/guid``: the datasets holding the file with that GUID; the other
    methods are those of a DID named ``guid`` in the scope of the first part."""

    async def get(self, guid):
        await self.stream(dids.get_dataset_by_guid, guid)

    def post(self, scope):
        return super().post(scope, "guid")

    def delete(self, scope):
        return super().delete(scope, "guid")


class ArchiveFilesHandler(BaseHandler):
    """``GET /archives/{scope}/{name}/files``: the constituents of an archive file."""

    async def get(self, scope, name):
        await self.stream(dids.list_archive_content, scope, name)


class DIDMetaHandler(BaseHandler):
    """``/dids/{s}/{n}/meta``: get (``?plugin=``), bulk set, delete (``?key=``)."""

    async def get(self, scope, name):
        # ".../meta/" lists every key; the client's ".../meta" defaults to DID_COLUMN.
        default = "ALL" if self.request.path.endswith("/") else "DID_COLUMN"
        self.send_json(await self.call(meta.get_metadata, scope, name,
                                       self.arg("plugin", default)))

    @accepts(obj(("meta",), meta=dict, recursive=bool))
    async def post(self, scope, name):
        body = self.json_body()
        await self.call(meta.set_metadata_bulk, scope, name, body["meta"],
                        optional(body, "recursive", default=False))
        self.created()

    async def delete(self, scope, name):
        await self.call(meta.delete_metadata, scope, name, self.arg("key"))
        self.ok()


#: ``{"value", "recursive"}`` of ``set_metadata``.
_VALUE = obj(("value",), value=ANY, recursive=bool)


class DIDMetaKeyHandler(BaseHandler):
    """``/dids/{s}/{n}/meta/{key}``: get ``{key: value}``, set (POST or PUT), delete."""

    async def get(self, scope, name, key):
        self.send_json(await self.call(meta.get_metadata_value, scope, name, key))

    async def _set(self, scope, name, key):
        body = self.json_body()
        await self.call(meta.set_metadata, scope, name, key, body["value"],
                        optional(body, "recursive", default=False))

    @accepts(_VALUE)
    async def post(self, scope, name, key):
        await self._set(scope, name, key)
        self.created()

    @accepts(_VALUE)
    async def put(self, scope, name, key):
        await self._set(scope, name, key)
        self.ok()

    async def delete(self, scope, name, key):
        await self.call(meta.delete_metadata, scope, name, key)
        self.ok()
