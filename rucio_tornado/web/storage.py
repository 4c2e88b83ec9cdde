"""Storage-side routes of the real API: lfns2pfns, QoS policies, virtual placement, and X509/GSS
identities taken from the connection (signed URLs: web/catalogs.py)."""
from rucio_tornado import exceptions
from rucio_tornado.core import identities, lfns2pfns, qos_policies
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.verbs import action, reader

class LFNs2PFNsHandler(BaseHandler):
    async def get(self, rse):
        self.send_json(await self.call(
            lfns2pfns.lfns2pfns, rse, self.get_query_arguments("lfn"),
            scheme=self.arg("scheme"), domain=self.arg("domain", "wan"),
            operation=self.arg("operation", "write")))


class QoSPoliciesHandler(BaseHandler):
    get = reader(qos_policies.list_qos_policies)


class QoSPolicyHandler(BaseHandler):
    post = action(qos_policies.add_qos_policy, created=True)
    delete = action(qos_policies.delete_qos_policy)


class DatasetReplicasVPHandler(BaseHandler):
    """``GET /replicas/{scope}/{name}/datasets_vp``: the real server asks its Virtual Placement
    service and answers ``"other"`` when none is configured; this server has none."""

    async def get(self, scope, name):
        await self.stream(lambda issuer: ["other"])


class CredentialIdentityHandler(BaseHandler):
    """``PUT /identities/{account}/x509|gss``: link the identity the connection proves (the
    client certificate's subject DN; for GSS the Kerberos principal, which this server never
    has) to the account, with the ``X-Rucio-Email`` header as its email."""
    kind = None

    def connection_identity(self):
        return None

    async def put(self, account):
        identity, email = self.connection_identity(), self.request.headers.get("X-Rucio-Email")
        if not identity or not email:
            raise exceptions.InvalidValue(f"{self.source} and email must be set.")
        await self.call(identities.add_identity, account, identity, self.kind, email=email)
        self.created()


class X509IdentityHandler(CredentialIdentityHandler):
    kind, source = "X509", "SSL_CLIENT_S_DN"

    def connection_identity(self):
        try:        # only a TLS connection (not a forwarded one) carries a certificate
            certificate = self.request.get_ssl_certificate()
        except (AttributeError, ValueError):
            certificate = None
        if not certificate:
            return None
        return "".join(f"/{key}={value}" for rdn in certificate.get("subject", ())
                       for key, value in rdn)


class GSSIdentityHandler(CredentialIdentityHandler):
    kind, source = "GSS", "REMOTE_USER"
