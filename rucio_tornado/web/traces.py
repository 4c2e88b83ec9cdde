"""Traces: ``POST /traces/`` and ``POST /nongrid_traces/``; no token, as the real server."""
from rucio_tornado import exceptions, metrics
from rucio_tornado.core import traces
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.schemas import accepts, array, either, obj


class _TraceHandler(BaseHandler):
    auth_required = False

    def set_default_headers(self):
        """The real server's answer headers: anyone's browser may post traces (CORS)."""
        self.set_header("Content-Type", "application/octet-stream")
        for header, asked in (("Access-Control-Allow-Origin", "Origin"),
                              ("Access-Control-Allow-Headers", "Access-Control-Request-Headers")):
            if asked in self.request.headers:
                self.set_header(header, self.request.headers[asked])
        self.set_header("Access-Control-Allow-Methods", "*")
        self.set_header("Access-Control-Allow-Credentials", "true")

    async def accept(self, fn, body):
        count = await self.run(fn, body, self.request.remote_ip,
                               self.config.trace_retention)
        metrics.TRACES.labels(self.kind).inc(count)
        self.created()


class TracesHandler(_TraceHandler):
    """One trace object or a list of them (what ``rucio upload``/``download`` send)."""
    kind = traces.TRACES

    @accepts(either(obj(extra=True), array()))     # a trace's keys are the client's
    async def post(self):
        try:
            body = self.json_body()
        except exceptions.InvalidValue as exc:
            raise exceptions.TraceDecodeError(exc.message) from None
        await self.accept(traces.add_traces, body)


class NongridTracesHandler(_TraceHandler):
    kind = traces.NONGRID

    @accepts(obj(extra=True))
    async def post(self):
        await self.accept(traces.add_nongrid_trace, self.json_body())
