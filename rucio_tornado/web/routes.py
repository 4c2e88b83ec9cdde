"""The one route table: the seed's routes and the modern client's, side by side.

Patterns match the raw, still-encoded path (API.md decision 1): a literal ``/`` always separates
parts, a ``/`` inside a DID name travels as ``%2F``; Tornado unquotes the captured groups.
Order matters: fixed paths and suffix routes come before the generic ``scope/name`` routes.
Each resource has its own section; keep additions inside the section they belong to.
"""
from tornado.web import RedirectHandler

from rucio_tornado.web import accounts, auth, oidc, ops
from rucio_tornado.web import account_limits, rses
from rucio_tornado.web import did_extras, dids, meta
from rucio_tornado.web import replicas
from rucio_tornado.web import rules, subscriptions
from rucio_tornado.web import lifetime_exceptions, locks, redirect, requests
from rucio_tornado.web import config, heartbeats, traces, vos
from rucio_tornado.web import catalogs, exchange, storage, unsupported
from rucio_tornado.web import browser, openapi

P = r"([^/]+)"        # one path part (URL-decoded when passed to the handler)
S = "/?"              # optional trailing slash

ROUTES = [
    # -- ping and authentication ---------------------------------------------------------------
    (rf"/ping{S}", auth.PingHandler),
    (rf"/auth/userpass{S}", auth.UserpassHandler),
    (rf"/auth/token{S}", auth.TokenHandler),
    (rf"/auth/validate{S}", auth.ValidateHandler),
    (rf"/auth/x509(?:/webui|_proxy)?{S}", auth.X509Handler),
    (rf"/auth/ssh_challenge_token{S}", auth.SSHChallengeHandler),
    (rf"/auth/ssh{S}", auth.SSHHandler),
    (rf"/auth/gss{S}", auth.GSSHandler),
    (rf"/auth/oidc{S}", oidc.AuthOIDCHandler),
    (rf"/auth/oidc_redirect{S}", oidc.RedirectOIDCHandler),
    (rf"/auth/oidc_code{S}", oidc.CodeOIDCHandler),
    (rf"/auth/oidc_refresh{S}", oidc.RefreshOIDCHandler),

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
    (rf"/identities/{P}/userpass{S}", accounts.UserpassIdentityHandler),
    (rf"/scopes{S}", accounts.ScopeListHandler),
    (rf"/scopes/owner{S}", accounts.ScopeOwnersHandler),
    (rf"/scopes/{P}/scopes{S}", accounts.AccountScopesHandler),
    (rf"/scopes/{P}/{P}{S}", accounts.ScopeHandler),
    # the rules of an account (handled with the other rule listings)
    (rf"/accounts/{P}/rules{S}", rules.AccountRulesHandler),

    # -- RSEs, attributes, protocols, distances, usage, limits -----------------------------------
    (rf"/rses{S}", rses.RSEListHandler),
    (rf"/rses/{P}/attr{S}", rses.RSEAttributesHandler),
    (rf"/rses/{P}/attr/{P}{S}", rses.RSEAttributeHandler),
    (rf"/rses/{P}/protocols{S}", rses.ProtocolListHandler),
    (rf"/rses/{P}/protocols/{P}{S}", rses.ProtocolHandler),
    (rf"/rses/{P}/protocols/{P}/{P}{S}", rses.ProtocolHandler),
    (rf"/rses/{P}/protocols/{P}/{P}/{P}{S}", rses.ProtocolHandler),
    (rf"/rses/{P}/distances/{P}{S}", rses.DistanceHandler),
    (rf"/rses/{P}/usage/history{S}", rses.RSEUsageHistoryHandler),
    (rf"/rses/{P}/usage{S}", rses.RSEUsageHandler),
    (rf"/rses/{P}/limits{S}", rses.RSELimitsHandler),
    (rf"/rses/{P}/accounts/usage{S}", rses.RSEAccountUsageHandler),
    (rf"/rses/{P}{S}", rses.RSEHandler),
    (rf"/accounts/{P}/limits{S}", account_limits.LocalLimitsHandler),
    (rf"/accounts/{P}/limits/local{S}", account_limits.LocalLimitsHandler),
    (rf"/accounts/{P}/limits/global{S}", account_limits.GlobalLimitsHandler),
    (rf"/accounts/{P}/limits/local/{P}{S}", account_limits.LocalLimitHandler),
    (rf"/accounts/{P}/limits/global/{P}{S}", account_limits.GlobalLimitHandler),
    (rf"/accounts/{P}/limits/{P}{S}", account_limits.LocalLimitHandler),
    (rf"/accounts/{P}/usage(?:/local)?{S}", account_limits.LocalUsageHandler),
    (rf"/accounts/{P}/usage/history/{P}{S}", account_limits.AccountUsageHistoryHandler),
    (rf"/accounts/{P}/usage/global{S}", account_limits.GlobalUsageHandler),
    (rf"/accounts/{P}/usage/global/{P}{S}", account_limits.GlobalUsageHandler),
    (rf"/accounts/{P}/usage/local/{P}{S}", account_limits.LocalUsageHandler),
    (rf"/accounts/{P}/usage/{P}{S}", account_limits.LocalUsageHandler),
    (rf"/accountlimits/local/{P}/{P}{S}", account_limits.LocalLimitHandler),
    (rf"/accountlimits/global/{P}/{P}{S}", account_limits.GlobalLimitHandler),
    (rf"/accountlimits/{P}/{P}{S}", account_limits.LocalLimitHandler),

    # -- DIDs and metadata -------------------------------------------------------------------
    # Fixed /dids/... paths first, then the scope/name suffix routes, then the generic ones.
    (rf"/dids{S}", dids.DIDsHandler),
    (rf"/dids/attachments{S}", dids.AttachmentsHandler),
    (rf"/dids/bulkfiles{S}", dids.BulkFilesHandler),
    (rf"/dids/bulkmeta{S}", dids.BulkMetaHandler),
    (rf"/dids/bulkdidsmeta{S}", dids.BulkDIDsMetaHandler),
    (rf"/dids/new{S}", did_extras.NewDIDsHandler),
    (rf"/dids/resurrect{S}", did_extras.ResurrectHandler),
    (rf"/dids/sample{S}", did_extras.SampleHandler),
    (rf"/dids/{P}/{P}/{P}/{P}/{P}/sample{S}", did_extras.SampleHandler),
    (rf"/dids/{P}/dids/search{S}", dids.SearchHandler),
    (rf"/dids/{P}/", dids.ScopeListHandler),
    (rf"/dids/{P}/guid{S}", dids.GUIDHandler),
    (rf"/dids/{P}/{P}/status{S}", dids.StatusHandler),
    (rf"/dids/{P}/{P}/meta{S}", dids.DIDMetaHandler),
    (rf"/dids/{P}/{P}/meta/{P}{S}", dids.DIDMetaKeyHandler),
    (rf"/dids/{P}/{P}/dids/history{S}", dids.ContentHistoryHandler),
    (rf"/dids/{P}/{P}/dids{S}", dids.ContentHandler),
    (rf"/dids/{P}/{P}/files{S}", dids.FilesHandler),
    (rf"/dids/{P}/{P}/parents{S}", dids.ParentsHandler),
    (rf"/dids/{P}/{P}/follow{S}", did_extras.FollowHandler),
    # suffix routes of other resources (rules, replicas of a DID) before the generic ones
    (rf"/dids/{P}/{P}/rules{S}", rules.DIDRulesHandler),
    (rf"/dids/{P}/{P}/associated_rules{S}", rules.DIDAssociatedRulesHandler),
    (rf"/dids/{P}/{P}/rses{S}", replicas.DIDReplicasHandler),
    (rf"/dids/{P}/{P}/", dids.ContentListHandler),
    (rf"/dids/{P}/{P}/{P}{S}", dids.AttachChildHandler),
    (rf"/dids/{P}/{P}", dids.DIDHandler),
    (rf"/archives/{P}/{P}/files{S}", dids.ArchiveFilesHandler),
    (rf"/meta{S}", meta.KeysWithDefaultsHandler),
    (rf"/meta/{P}{S}", meta.KeyWithDefaultHandler),
    (rf"/meta/{P}/{P}{S}", meta.KeyDefaultHandler),
    (rf"/meta_conventions{S}", meta.ConventionKeysHandler),
    (rf"/meta_conventions/{P}", meta.ConventionKeyHandler),
    (rf"/meta_conventions/{P}/", meta.ConventionValuesHandler),

    # -- replicas ----------------------------------------------------------------------------
    (rf"/replicas{S}", replicas.ReplicasHandler),
    (rf"/replicas/list{S}", replicas.ListReplicasHandler),
    (rf"/replicas/tombstone{S}", replicas.SetTombstonesHandler),
    (rf"/replicas/bad{S}", replicas.DeclareBadReplicasHandler),
    (rf"/replicas/bad/dids{S}", replicas.DeclareBadDIDReplicasHandler),
    (rf"/replicas/bad/pfns{S}", replicas.AddBadPFNsHandler),
    (rf"/replicas/bad/states{S}", replicas.BadReplicaStatesHandler),
    (rf"/replicas/bad/summary{S}", replicas.BadReplicaSummaryHandler),
    (rf"/replicas/suspicious{S}", replicas.SuspiciousReplicasHandler),
    (rf"/replicas/datasets_bulk{S}", replicas.DatasetReplicasBulkHandler),
    (rf"/replicas/dids{S}", replicas.DIDsFromPFNsHandler),
    (rf"/replicas/rse/{P}{S}", replicas.DatasetsPerRSEHandler),
    (rf"/replicas/{P}/{P}/datasets{S}", replicas.DatasetReplicasHandler),
    (rf"/replicas/{P}/{P}{S}", replicas.DIDReplicasHandler),

    # -- rules and subscriptions -------------------------------------------------------------
    (rf"/rules{S}", rules.RuleCollectionHandler),
    (rf"/rules/{P}/locks{S}", rules.RuleLocksHandler),
    (rf"/rules/{P}/analysis{S}", rules.RuleAnalysisHandler),
    (rf"/rules/{P}/history{S}", rules.RuleHistoryHandler),
    (rf"/rules/{P}/reduce{S}", rules.RuleReduceHandler),
    (rf"/rules/{P}/move{S}", rules.RuleMoveHandler),
    (rf"/rules/{P}/{P}/history{S}", rules.DIDRuleHistoryHandler),
    (rf"/rules/{P}{S}", rules.RuleByIdHandler),
    (rf"/subscriptions{S}", subscriptions.AllSubscriptionsHandler),
    (rf"/subscriptions/name/{P}{S}", subscriptions.SubscriptionsByNameHandler),
    (rf"/subscriptions/id/{P}{S}", subscriptions.SubscriptionByIdHandler),
    (rf"/subscriptions/{P}/rules/states{S}", subscriptions.SubscriptionRuleStatesHandler),
    (rf"/subscriptions/{P}/{P}/rules/states{S}", subscriptions.SubscriptionRuleStatesHandler),
    (rf"/subscriptions/{P}/{P}/rules{S}", subscriptions.SubscriptionRulesHandler),
    (rf"/subscriptions/{P}/{P}{S}", subscriptions.AccountSubscriptionHandler),
    (rf"/subscriptions/{P}{S}", subscriptions.AccountSubscriptionsOrIdHandler),

    # -- locks, transfer requests, lifetime exceptions, redirect ------------------------------
    (rf"/locks/bulk_locks_for_dids{S}", locks.BulkLocksHandler),
    (rf"/locks/{P}/{P}{S}", locks.LocksByDIDHandler),
    (rf"/locks/{P}{S}", locks.LocksByRSEHandler),
    (rf"/requests/list{S}", requests.RequestListHandler),
    (rf"/requests/history/list{S}", requests.RequestHistoryListHandler),
    (rf"/requests/metrics{S}", requests.RequestMetricsHandler),
    (rf"/requests/transfer_limits{S}", requests.TransferLimitsHandler),
    (rf"/requests/history/{P}/{P}/{P}{S}", requests.RequestHistoryHandler),
    (rf"/requests/{P}/{P}/{P}{S}", requests.RequestHandler),
    (rf"/lifetime_exceptions{S}", lifetime_exceptions.LifetimeExceptionsHandler),
    (rf"/lifetime_exceptions/{P}{S}", lifetime_exceptions.LifetimeExceptionHandler),
    (rf"/redirect/{P}/{P}/metalink{S}", redirect.MetalinkHandler),
    (rf"/redirect/{P}/{P}{S}", redirect.RedirectHandler),

    # -- configuration table -----------------------------------------------------------------
    (rf"/config/{P}/{P}/{P}{S}", config.OptionValueHandler),
    (rf"/config/{P}/{P}{S}", config.OptionHandler),
    (rf"/config/{P}{S}", config.SectionHandler),
    (rf"/config{S}", config.ConfigHandler),

    # -- VOs (single-VO answers) -------------------------------------------------------------
    (rf"/vos/{P}/recover{S}", vos.VORecoverHandler),
    (rf"/vos/{P}{S}", vos.VOHandler),
    (rf"/vos{S}", vos.VOListHandler),

    # -- heartbeats and traces ---------------------------------------------------------------
    (rf"/heartbeats{S}", heartbeats.HeartbeatsHandler),
    (rf"/traces{S}", traces.TracesHandler),
    (rf"/nongrid_traces{S}", traces.NongridTracesHandler),

    # -- import/export, dirac, opendata, signed URLs ------------------------------------------
    (rf"/export{S}", exchange.ExportHandler),
    (rf"/import{S}", exchange.ImportHandler),
    (rf"/credentials/signurl?{S}", catalogs.SignURLHandler),
    (rf"/dirac/addfiles{S}", catalogs.DiracAddFilesHandler),
    (rf"/replicas/quarantine{S}", catalogs.QuarantineHandler),
    (rf"/opendata/dids{S}", catalogs.OpenDataListHandler),
    (rf"/opendata/dids/{P}/{P}{S}", catalogs.OpenDataDIDHandler),
    (rf"/opendata/public/dids{S}", catalogs.PublicOpenDataListHandler),
    (rf"/opendata/public/dids/{P}/{P}{S}", catalogs.PublicOpenDataDIDHandler),
    (rf"/rses/{P}/lfns2pfns{S}", storage.LFNs2PFNsHandler),
    (rf"/rses/{P}/qos_policy{S}", storage.QoSPoliciesHandler),
    (rf"/rses/{P}/qos_policy/{P}{S}", storage.QoSPolicyHandler),
    (rf"/replicas/{P}/{P}/datasets_vp{S}", storage.DatasetReplicasVPHandler),
    (rf"/identities/{P}/x509{S}", storage.X509IdentityHandler),
    (rf"/identities/{P}/gss{S}", storage.GSSIdentityHandler),

    # -- operations (health, metrics) --------------------------------------------------------
    (rf"/health{S}", ops.HealthHandler),
    (rf"/metrics{S}", ops.MetricsHandler),
    (r"/openapi\.json", openapi.OpenAPIHandler),

    # -- the catalog browser (static page over this API) --------------------------------------
    (r"/ui", RedirectHandler, {"url": "/ui/"}),
    (r"/ui/(.*)", browser.BrowserFilesHandler, browser.ROUTE_ARGS),

    # -- last: the generic account route ---------------------------------------------------
    (rf"/accounts/{P}{S}", accounts.AccountHandler),
]

# The real API's routes no handler above serves answer 501 UnsupportedOperation (placed so that
# they never hide a handler; web/unsupported.py). Keep this the last statement of the table.
ROUTES = unsupported.place(ROUTES)
