"""An access logger that never writes codes, secrets or tokens."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from webapp.wechat_sim.faults import mask_params

logger = logging.getLogger("webapp.wechat_sim.access")


class MaskingAccessLogger(AbstractAccessLogger):
    """Log method, path, masked query, status and duration."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one access line with secret-bearing parameters masked."""
        query = mask_params(request.query)
        shown = "&".join(f"{k}={v}" for k, v in query.items())
        target = f"{request.path}?{shown}" if shown else request.path
        self.logger.info("%s %s %s %.1fms", request.method, target, response.status, time * 1000)
