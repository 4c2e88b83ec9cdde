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
    # (account limits and usage: see the RSE section; account rules: see the rules section)

    # -- RSEs, attributes, protocols, distances, usage, limits -----------------------------------

    # -- DIDs and metadata -------------------------------------------------------------------

    # -- replicas ----------------------------------------------------------------------------

    # -- rules and subscriptions -------------------------------------------------------------

    # -- operations (health, metrics) --------------------------------------------------------

    # -- last: the generic account route ---------------------------------------------------
    (rf"/accounts/{P}{S}", accounts.AccountHandler),
]
