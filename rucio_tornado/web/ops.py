"""Operations endpoints for load balancers and monitoring: ``/health`` and ``/metrics``.

Both need no token and answer over plain HTTP even in production (see ``web/security.py``);
restrict ``/metrics`` to the monitoring network at the proxy if it should not be public.
"""
import asyncio

from rucio_tornado import metrics
from rucio_tornado.web.base import BaseHandler

HEALTH_TIMEOUT = 5.0


class HealthHandler(BaseHandler):
    """``GET /health``: 200 when the database answers a trivial query, else 503."""
    auth_required = False

    async def get(self):
        try:
            await asyncio.wait_for(self.run(self.db.ping), HEALTH_TIMEOUT)
        except Exception:
            self.send_json({"status": "unavailable", "database": "unreachable"}, status=503)
            return
        self.send_json({"status": "ok", "database": "ok"})


class MetricsHandler(BaseHandler):
    """``GET /metrics``: Prometheus text format, all processes of this server."""
    auth_required = False

    def get(self):
        metrics.update_pool_gauges(self.db)
        content_type, body = metrics.exposition()
        self.set_header("Content-Type", content_type)
        self.finish(body)
