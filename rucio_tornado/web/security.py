"""Request checks: the request line's and headers' size (414 / 431), and for deployments the
client's real address and scheme behind a trusted TLS proxy, and production's "SSL only" rule.

Tornado's ``xheaders=True`` would believe ``X-Forwarded-*`` from anybody; here they count only
when the TCP peer is one of ``trusted_proxies``. :func:`request_checks` is what ``make_app``
installs; each check runs first in ``BaseHandler.prepare``.
"""
import ipaddress

from rucio_tornado import exceptions
from rucio_tornado.config import parse_networks

#: Reachable over plain HTTP even in production: liveness probes and metric scrapers.
PLAIN_HTTP_PATHS = frozenset({"/ping", "/health", "/metrics"})


class ForwardedHeaders:
    """Rewrite ``request.remote_ip`` / ``request.protocol`` from ``X-Forwarded-For`` /
    ``X-Forwarded-Proto`` when, and only when, the peer is a trusted proxy."""

    def __init__(self, trusted_proxies):
        self.networks = parse_networks(trusted_proxies)

    def is_trusted(self, address):
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)

    def __call__(self, handler):
        request = handler.request
        if not self.networks or not self.is_trusted(request.remote_ip):
            return
        request.via_trusted_proxy = True     # for headers only a trusted proxy may set
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            request.protocol = proto
        # The client is the right-most address that is not one of our proxies.
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed([hop for hop in hops if hop]):
            if _ip(hop) is None:
                break                       # garbage: keep the last address we could believe
            request.remote_ip = hop
            if not self.is_trusted(hop):
                break


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def from_trusted_proxy(request):
    """True if the TCP peer of ``request`` is one of ``trusted_proxies``."""
    return getattr(request, "via_trusted_proxy", False)


def require_tls(handler):
    """Production: refuse anything but TLS (directly or via a trusted proxy), with no redirect."""
    request = handler.request
    if request.protocol == "https" or request.path.rstrip("/") in PLAIN_HTTP_PATHS:
        return
    raise exceptions.SSLRequired("SSL is required")


class RequestSize:
    """414 for a request target above ``max_url_size``, 431 for header lines above
    ``max_header_size`` (bytes as received, ``Name: value\\r\\n`` each), as Rucio errors.
    Tornado's own ``max_header_size`` sits above the sum of both (``httpserver.py``)."""

    def __init__(self, max_url_size, max_header_size):
        self.max_url_size, self.max_header_size = max_url_size, max_header_size

    def __call__(self, handler):
        request = handler.request
        if len(request.uri) > self.max_url_size:
            raise exceptions.URITooLong(f"The request URL is longer than {self.max_url_size} "
                                        "bytes")
        size = sum(len(name) + len(value) + 4 for name, value in request.headers.get_all())
        if size > self.max_header_size:
            raise exceptions.HeadersTooLarge(f"The request headers are larger than "
                                             f"{self.max_header_size} bytes")


def request_checks(settings):
    """The checks ``settings`` call for, in order."""
    checks = [RequestSize(settings.max_url_size, settings.max_header_size)]
    if settings.trusted_proxies.strip():
        checks.append(ForwardedHeaders(settings.trusted_proxies))
    if settings.is_production:
        checks.append(require_tls)
    return checks
