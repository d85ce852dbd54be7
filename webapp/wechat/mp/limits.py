"""How many follow-login QR codes one client address may create: the WeChat-flow budget of webapp.ratelimit.

A QR scene counts against the same fixed window as an OAuth state (STATE_RATE_LIMIT per 10 minutes),
since both are rows an anonymous visitor makes the site store.
"""

from __future__ import annotations

from datetime import datetime

from webapp import ratelimit
from webapp.db import Database


async def allow_qr(db: Database, *, ip: str, limit: int, now: datetime) -> bool:
    """Count one more QR for this client address; False once it is past `limit` in the current window."""
    async with db.connection() as conn:
        return await ratelimit.hit(
            conn, f"flow:{ratelimit.client_key(ip)}", limit=limit, window=ratelimit.FLOW_WINDOW, now=now
        )
