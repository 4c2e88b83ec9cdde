"""Subscriptions: ``/subscriptions/...`` (a first path part of 32 hex digits is an id)."""
from rucio_tornado import exceptions
from rucio_tornado.core import subscriptions
from rucio_tornado.core.lookup import is_id
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import ANY, accepts, obj


def _options(body):
    """The client's ``{"options": {...}}``, or the seed's flat body."""
    options = body.get("options", body)
    if not isinstance(options, dict):
        raise exceptions.InvalidJSONType("options must be a json dictionary")
    return options


#: The client's ``{"options": {...}}`` (a new subscription's ``name`` may be there or beside
#: it), or the seed's flat body of the options themselves; options Rucio does not read are
#: ignored, as there.
_OPTIONS = dict.fromkeys((*subscriptions.OPTION_KEYS, "name"), ANY)
SUBSCRIPTION = obj(options=obj(**_OPTIONS, extra=True), **_OPTIONS, extra=True)


class AllSubscriptionsHandler(BaseHandler):
    async def get(self):
        await self.stream(subscriptions.list_subscriptions)


class SubscriptionsByNameHandler(BaseHandler):
    async def get(self, name):
        await self.stream(subscriptions.list_subscriptions, name=name)


class SubscriptionByIdHandler(BaseHandler):
    async def get(self, subscription_id):
        self.send_json(await self.call(subscriptions.get_subscription_by_id, subscription_id))


class AccountSubscriptionsOrIdHandler(BaseHandler):
    """``/subscriptions/{account}`` (list, add) or the seed's ``/subscriptions/{id}`` (read,
    delete)."""

    async def get(self, first):
        if is_id(first):
            self.send_json(await self.call(subscriptions.get_subscription_by_id, first))
        else:
            await self.stream(subscriptions.list_subscriptions, account=first)

    @accepts(SUBSCRIPTION)
    async def post(self, account):
        body = self.json_body()
        options = _options(body)
        name = body.get("name", options.get("name"))
        options = {k: v for k, v in options.items() if k != "name"}
        sub_id = await self.call(subscriptions.add_subscription, account, name, options)
        self.created(sub_id)

    async def delete(self, subscription_id):
        await self.call(subscriptions.delete_subscription, subscription_id)
        self.ok()


class AccountSubscriptionHandler(BaseHandler):
    """``/subscriptions/{account}/{name}``; also the seed's ``/subscriptions/{id}/rules``."""

    async def get(self, account, name):
        if name == "rules" and is_id(account):
            await self.stream(subscriptions.list_subscription_rules_by_id, account,
                              self.arg("state"))
        else:
            await self.stream(subscriptions.list_subscriptions, account=account, name=name)

    @accepts(SUBSCRIPTION)
    async def post(self, account, name):
        sub_id = await self.call(subscriptions.add_subscription, account, name,
                                 _options(self.json_body()))
        self.created(sub_id)

    @accepts(SUBSCRIPTION)
    async def put(self, account, name):
        await self.call(subscriptions.update_subscription, account, name,
                        _options(self.json_body()))
        self.created()


class SubscriptionRulesHandler(BaseHandler):
    async def get(self, account, name):
        await self.stream(subscriptions.list_subscription_rules, account, name,
                          self.arg("state"))


class SubscriptionRuleStatesHandler(BaseHandler):
    async def get(self, account, name=None):
        await self.stream(subscriptions.rule_states, account, name)
