"""Accounts, account attributes, identities and scopes."""
from rucio_tornado import exceptions
from rucio_tornado.core import accounts, identities, scopes
from rucio_tornado.core.common import optional
from rucio_tornado.web.base import BaseHandler, one_hop
from rucio_tornado.web.schemas import ANY, accepts, obj
from rucio_tornado.web.verbs import action, reader


class AccountListHandler(BaseHandler):
    async def get(self):
        reserved = ("account_type", "identity", "account")
        await self.stream(accounts.list_accounts, account_type=self.arg("account_type"),
                          identity=self.arg("identity"), name_pattern=self.arg("account"),
                          attributes=self.query_filters(exclude=reserved))


class WhoAmIHandler(BaseHandler):
    """303 to the issuer's own account, relative as the real server's (the client follows)."""

    async def get(self):
        account = self.issuer.account
        self.redirect(f"../{account}" if self.request.path.endswith("/") else account,
                      status=303)


class AccountHandler(BaseHandler):
    get = one_hop(reader(accounts.get_account, short=True))
    post = action(accounts.add_account, created=True, keys=("type", "email"),
                  body=obj(("type", "email"), type=ANY, email=ANY))

    put = action(accounts.update_account, body=obj(**dict.fromkeys(accounts.UPDATABLE, ANY)))
    delete = action(accounts.delete_account)


class AccountAttributesHandler(BaseHandler):
    get = reader(accounts.list_attributes)


class AccountAttributeHandler(BaseHandler):
    post = action(accounts.add_attribute, created=True, keys=("value",),
                  body=obj(("value",), key=ANY, value=ANY))

    delete = action(accounts.delete_attribute)


class IdentitiesHandler(BaseHandler):
    """The client's form: identity and type in a JSON body."""

    async def get(self, account):
        await self.stream(identities.list_identities, account)

    @accepts(obj(("identity", "authtype", "email"), identity=str, authtype=str, email=ANY,
                 password=str, default=bool))
    async def post(self, account):
        body = self.json_body()
        await self.call(identities.add_identity, account, body["identity"],
                        body["authtype"], email=body["email"],
                        password=optional(body, "password"),
                        default=optional(body, "default", default=False))
        self.created()

    @accepts(obj(("identity", "authtype"), identity=str, authtype=str))
    async def delete(self, account):
        body = self.json_body()
        await self.call(identities.delete_identity, account, body["identity"],
                        body["authtype"])
        self.ok()


class IdentityPathHandler(BaseHandler):
    """The seed's form: ``/accounts/{a}/identities/{type}/{identity}``; email/password in body."""

    @accepts(obj(email=str, password=str, default=bool), empty={})
    async def post(self, account, type_, identity):
        body = self.json_body()
        await self.call(identities.add_identity, account, identity, type_,
                        email=optional(body, "email"),
                        password=optional(body, "password"),
                        default=optional(body, "default", default=False))
        self.created()

    async def delete(self, account, type_, identity):
        await self.call(identities.delete_identity, account, identity, type_)
        self.ok()


class IdentityAccountsHandler(BaseHandler):
    """``/identities/{type}/{id}/accounts/`` (seed) or ``/identities/{id}/{type}/accounts``."""

    async def get(self, first, second):
        type_, identity = (first, second) if identities.is_identity_type(first) \
            else (second, first)
        self.send_json(await self.call(identities.accounts_of_identity, identity, type_))


class IdentityAccountsQueryHandler(BaseHandler):
    """``/identities/accounts?identity_key=&type=``."""

    async def get(self):
        identity, type_ = self.arg("identity_key"), self.arg("type")
        if not identity:
            raise exceptions.InvalidValue("identity_key parameter is required.")
        if not type_:
            raise exceptions.InvalidValue("type parameter is required.")
        if not identities.is_identity_type(type_):
            raise exceptions.InvalidValue(
                f"Invalid identity type. Valid types are: {list(identities.IDENTITY_TYPES)}")
        self.send_json(await self.call(identities.accounts_of_identity, identity, type_))


class UserpassIdentityHandler(BaseHandler):
    """``PUT /identities/{account}/userpass``: the client's ``add_identity`` for passwords,
    with ``X-Rucio-Username`` / ``-Password`` / ``-Email`` headers, as the real server."""

    async def put(self, account):
        headers = self.request.headers
        username, password, email = (headers.get(f"X-Rucio-{name}")
                                     for name in ("Username", "Password", "Email"))
        if not username or not password or not email:
            raise exceptions.InvalidValue("Username, Email and Password must be set.")
        await self.call(identities.add_identity, account, username, "USERPASS", email=email,
                        password=password)
        self.created()


class ScopeListHandler(BaseHandler):
    get = reader(scopes.list_scopes)


class ScopeOwnersHandler(BaseHandler):
    get = reader(scopes.list_scope_owners)


class AccountScopesHandler(BaseHandler):
    get = reader(scopes.list_scopes_for_account)


class ScopeHandler(BaseHandler):
    """``/accounts/{a}/scopes/{s}`` and ``/scopes/{a}/{s}``."""
    post = action(scopes.add_scope, created=True)
    put = action(scopes.update_scope, created=True)
    delete = action(scopes.delete_scope)
