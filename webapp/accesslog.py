"""The site's access log: one line per request, secret-bearing query values masked, every value escaped."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from webapp.clientinfo import client_ip
from webapp.observability.context import request_id_key, session_user_id
from webapp.observability.escape import escape
from webapp.observability.logs import ACCESS_LOGGER, access_sink
from webapp.observability.wiring import route_name

logger = logging.getLogger(ACCESS_LOGGER)
MESSAGE = "%s %s %s %.1fms %s %s"  # method, target, status, duration, client address, route name
# openid: WeChat's pushes carry the user's openid in the query; it names a person, not a request.
MASKED = frozenset({"code", "state", "secret", "access_token", "refresh_token", "handoff", "csrf_token", "openid", "scene"})
# Any parameter whose name says it carries a credential is masked too, whatever endpoint it reaches.
_MASKED_PARTS = ("token", "secret", "password", "ticket", "signature", "key")


def is_masked(name: str) -> bool:
    """True for a query parameter whose value must never be logged."""
    lowered = name.lower()
    return lowered in MASKED or any(part in lowered for part in _MASKED_PARTS)


def masked_target(request: web.BaseRequest) -> str:
    """Path and query with every secret-bearing value shown as *** and control characters escaped."""
    if not request.query_string or not request.query:
        return escape(request.path)
    shown = "&".join(f"{k}={'***' if is_masked(k) else v}" for k, v in request.query.items())
    return escape(f"{request.path}?{shown}")


def access_fields(request: web.BaseRequest, response: web.StreamResponse, seconds: float) -> dict[str, Any]:
    """What one access line says, as the JSON keys it becomes."""
    fields: dict[str, Any] = {
        "method": escape(request.method[:16]),
        "path": masked_target(request),
        "route": route_name(request),
        "status": response.status,
        "duration_ms": round(seconds * 1000, 1),
        "client_ip": escape(client_ip(request)),
    }
    request_id = request.get(request_id_key)
    if request_id is not None:
        fields["request_id"] = request_id
    user_id = session_user_id(request)
    if user_id is not None:
        fields["user_id"] = user_id
    return fields


class MaskedAccessLogger(AbstractAccessLogger):
    """Method, masked target, route name, status, duration, client address, request id and user id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one access line: straight to the site's log handler when nothing else listens, else a record."""
        f = access_fields(request, response, time)
        sink = access_sink()
        if sink is not None:
            sink.write_access(f, MESSAGE % (f["method"], f["path"], f["status"], f["duration_ms"], f["client_ip"], f["route"]))
            return
        self.logger.info(MESSAGE, f["method"], f["path"], f["status"], f["duration_ms"], f["client_ip"], f["route"], extra=f)
