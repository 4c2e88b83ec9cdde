"""Replication rules: ``/rules/...``, ``/accounts/{a}/rules``, ``/dids/{s}/{n}/rules``."""
import ujson

from rucio_tornado import exceptions
from rucio_tornado.core.common import optional
from rucio_tornado.core.rules import lifecycle as rules
from rucio_tornado.core.rules import listing as rule_listing
from rucio_tornado.core.rules import spec
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


class RuleCollectionHandler(BaseHandler):
    """``/rules/``: list (query filters) and add."""

    async def get(self):
        await self.stream(rule_listing.list_rules, self.query_filters())

    @accepts(obj(spec.MANDATORY_KEYS, **dict.fromkeys(spec.RULE_KEYS, ANY),
                 unknown=exceptions.InvalidRuleDefinition))
    async def post(self):
        ids = await self.call(rules.add_rules, self.json_body())
        self.created(ujson.dumps(ids))


class RuleByIdHandler(BaseHandler):
    """``/rules/{id}``: read, update, delete."""

    async def get(self, rule_id):
        self.send_json(await self.call(rules.get_rule, rule_id))

    @accepts(obj(("options",), options=obj(**dict.fromkeys(rules.UPDATE_OPTIONS, ANY),
                                            unknown=exceptions.InvalidRuleOption)))
    async def put(self, rule_id):
        body = self.json_body()
        await self.call(rules.update_rule, rule_id, body["options"])
        self.ok()

    @accepts(obj(purge_replicas=bool), empty={})    # the client always sends one; the seed not
    async def delete(self, rule_id):
        body = self.json_body()
        await self.call(rules.delete_rule, rule_id, optional(body, "purge_replicas"))
        self.ok()


class RuleLocksHandler(BaseHandler):
    async def get(self, rule_id):
        await self.stream(rule_listing.list_locks, rule_id)


class RuleAnalysisHandler(BaseHandler):
    async def get(self, rule_id):
        self.send_json(await self.call(rule_listing.examine_rule, rule_id))


class RuleHistoryHandler(BaseHandler):
    async def get(self, rule_id):
        await self.stream(rule_listing.rule_history, rule_id)


class DIDRuleHistoryHandler(BaseHandler):
    async def get(self, scope, name):
        await self.stream(rule_listing.did_rule_history, scope, name)


class RuleReduceHandler(BaseHandler):
    """The client expects 200 (the real server's 201 breaks ``reduce_replication_rule``)."""

    @accepts(obj(("copies",), copies=ANY, exclude_expression=ANY))
    async def post(self, rule_id):
        body = self.json_body()
        ids = await self.call(rules.reduce_rule, rule_id, body["copies"],
                              optional(body, "exclude_expression"))
        self.send_json(ids)


class RuleMoveHandler(BaseHandler):
    """201 with the new rule's id (a JSON string), as Rucio answers; ``rule_id`` in the body
    wins over the path, and a top-level ``activity`` / ``source_replica_expression`` (the
    older client's form) goes into the override unless it is there."""

    @accepts(obj(("rse_expression",), override=dict, activity=ANY,
                 source_replica_expression=ANY, rule_id=str, rse_expression=ANY))
    async def post(self, rule_id):
        body = self.json_body()
        override = dict(optional(body, "override", default={}) or {})
        for key in ("activity", "source_replica_expression"):
            if body.get(key) and key not in override:
                override[key] = body[key]
        new_id = await self.call(rules.move_rule, optional(body, "rule_id", default=rule_id),
                                 body["rse_expression"], override)
        self.created(ujson.dumps(new_id))


class AccountRulesHandler(BaseHandler):
    async def get(self, account):
        await self.stream(rule_listing.list_account_rules, account, self.query_filters())


class DIDRulesHandler(BaseHandler):
    async def get(self, scope, name):
        await self.stream(rule_listing.list_did_rules, scope, name)


class DIDAssociatedRulesHandler(BaseHandler):
    async def get(self, scope, name):
        await self.stream(rule_listing.list_associated_rules, scope, name)
