"""``/redirect``: 303 to the best replica's PFN, or the Metalink of a DID (no token needed,
as the real server)."""
from urllib.parse import quote

from rucio_tornado.core import redirect
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.replicas import METALINK_TYPE
from rucio_tornado.web.streaming import encode_text, write_stream


class RedirectMixin:
    auth_required = False

    def prepare(self):
        for header, source in (("Access-Control-Allow-Origin", "Origin"),
                               ("Access-Control-Allow-Headers",
                                "Access-Control-Request-Headers")):
            if source in self.request.headers:
                self.set_header(header, self.request.headers[source])
        self.set_header("Access-Control-Allow-Methods", "*")
        self.set_header("Access-Control-Allow-Credentials", "true")
        return super().prepare()

    def schemes(self):
        """``?schemes=a&schemes=b`` (or ``a,b``)."""
        return [s for value in self.get_query_arguments("schemes") for s in value.split(",")
                if s] or None


class RedirectHandler(RedirectMixin, BaseHandler):
    async def get(self, scope, name):
        schemes = self.schemes() or redirect.REDIRECT_SCHEMES
        select = self.arg("sort") or self.arg("select") or "random"
        link = quote(f"{self.request.path.rstrip('/')}/metalink?schemes={','.join(schemes)}"
                     f"&select={select}", safe="/%?&=,:")      # no caller text in a header
        self.set_header("Link", f"<{link}>; rel=describedby; "
                                'type="application/metalink+xml"')
        url = await self.call(redirect.redirect_url, scope, name, rse=self.arg("rse"),
                              site=self.arg("site"), schemes=schemes, select=select)
        self.redirect(url, status=303)


class MetalinkHandler(RedirectMixin, BaseHandler):
    async def get(self, scope, name):
        source = await self.call(redirect.metalink, scope, name, schemes=self.schemes())
        await write_stream(self, source, encode=encode_text, content_type=METALINK_TYPE)
