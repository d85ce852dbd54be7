"""The site's access log: one line per request, with codes, states and tokens masked."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from webapp.clientinfo import client_ip

logger = logging.getLogger("webapp.access")
MASKED = frozenset({"code", "state", "secret", "access_token", "refresh_token", "handoff", "csrf_token"})


def masked_target(request: web.BaseRequest) -> str:
    """Path and query with every secret-bearing parameter shown as ***."""
    if not request.query:
        return request.path
    shown = "&".join(f"{k}={'***' if k in MASKED else v}" for k, v in request.query.items())
    return f"{request.path}?{shown}"


class MaskedAccessLogger(AbstractAccessLogger):
    """Method, masked target, status, duration and peer address."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one access line."""
        self.logger.info(
            "%s %s %s %.1fms %s", request.method, masked_target(request), response.status, time * 1000,
            client_ip(request),  # type: ignore[arg-type]
        )
