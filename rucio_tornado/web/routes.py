"""The one route table: the seed's routes and the modern client's, side by side.

Patterns match the raw, still-encoded path (API.md decision 1): a literal ``/`` always separates
parts, a ``/`` inside a DID name travels as ``%2F``; Tornado unquotes the captured groups.
Order matters: fixed paths and suffix routes come before the generic ``scope/name`` routes.
Each resource has its own section; keep additions inside the section they belong to.
"""
from rucio_tornado.web import accounts, misc

P = r"([^/]+)"        # one path part (URL-decoded when passed to the handler)
S = "/?"              # optional trailing slash

ROUTES = [
    # -- ping and authentication ---------------------------------------------------------------
    (rf"/ping{S}", misc.PingHandler),
    (rf"/auth/userpass{S}", misc.UserpassHandler),
    (rf"/auth/token{S}", misc.TokenHandler),
    (rf"/auth/validate{S}", misc.ValidateHandler),

    # -- accounts, identities, scopes ------------------------------------------------------
    (rf"/accounts{S}", accounts.AccountListHandler),
    (rf"/accounts/whoami{S}", accounts.WhoAmIHandler),
    (rf"/accounts/{P}/attr{S}", accounts.AccountAttributesHandler),
    (rf"/accounts/{P}/attr/{P}{S}", accounts.AccountAttributeHandler),
    (rf"/accounts/{P}/identities{S}", accounts.IdentitiesHandler),
    (rf"/accounts/{P}/identities/{P}/{P}{S}", accounts.IdentityPathHandler),
    (rf"/accounts/{P}/scopes{S}", accounts.AccountScopesHandler),
    (rf"/accounts/{P}/scopes/{P}{S}", accounts.ScopeHandler),
    (rf"/identities/accounts{S}", accounts.IdentityAccountsQueryHandler),
    (rf"/identities/{P}/{P}/accounts{S}", accounts.IdentityAccountsHandler),
    (rf"/scopes{S}", accounts.ScopeListHandler),
    (rf"/scopes/owner{S}", accounts.ScopeOwnersHandler),
    (rf"/scopes/{P}/scopes{S}", accounts.AccountScopesHandler),
    (rf"/scopes/{P}/{P}{S}", accounts.ScopeHandler),
    # account rules (rules developer): /accounts/{a}/rules goes HERE

    # -- RSEs, attributes, protocols, distances, usage, limits -----------------------------------

    # -- DIDs and metadata -------------------------------------------------------------------
    # Fixed /dids/... paths first, then the scope/name suffix routes, then the generic ones.
    # DID suffix routes of other resources go HERE, before the generic scope/name routes:
    #   replicas developer: GET /dids/{s}/{n}/rses/   rules developer: /dids/{s}/{n}/rules,
    #   /dids/{s}/{n}/associated_rules

    # -- replicas ----------------------------------------------------------------------------

    # -- rules and subscriptions -------------------------------------------------------------

    # -- operations (health, metrics) --------------------------------------------------------

    # -- last: the generic account route ---------------------------------------------------
    (rf"/accounts/{P}{S}", accounts.AccountHandler),
]
