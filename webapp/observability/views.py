"""GET /metrics (Prometheus text, METRICS_ALLOW addresses only) and GET /readyz."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from webapp.clientinfo import client_ip
from webapp.keys import db_key, settings_key
from webapp.observability import metrics as metrics_
from webapp.observability import readiness
from webapp.observability.wiring import schema_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


async def metrics(request: web.Request) -> web.Response:
    """The metrics of this process (or of all `serve --workers` processes); 403 outside METRICS_ALLOW."""
    # client_ip, not request.remote: behind nginx every peer is loopback, which METRICS_ALLOW allows.
    if not is_allowed(client_ip(request), request.app[settings_key].metrics_allow):
        raise web.HTTPForbidden()
    body, content_type = metrics_.exposition()
    return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers and is at the migrations' head, else 503 saying which part is not."""
    ready, report = await readiness.check(request.app[db_key], request.app[schema_key])
    return web.json_response(report, status=200 if ready else 503, headers={"Cache-Control": "no-store"})


def is_allowed(address: str, allow: tuple[str, ...]) -> bool:
    """True when `address` lies in one of the CIDRs (IPv4-mapped IPv6 counts as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(allow))


@lru_cache(maxsize=8)
def _networks(allow: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for cidr in allow:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:  # reported by `webapp check-config`; an unparsable entry allows nobody
            continue
    return tuple(networks)
