"""What guards WeChat's qrcode/create quota: a limit per browser and a budget for the whole site.

Never a limit per client address: a campus or a carrier NAT puts thousands of people behind one. A
browser binding costs an attacker nothing to renew, so the site-wide budget (FOLLOW_QR_BUDGET per hour,
one counter row per hour) is what keeps the daily quota (100,000 creates) from being spent; the
per-browser limit keeps one page from spending it by accident. Neither grows the database.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime, timedelta

from webapp import ratelimit
from webapp.db import Database
from webapp.security import digest

BUDGET_WINDOW = timedelta(hours=1)
BROWSER_LIMIT, BROWSER_WINDOW = 10, timedelta(minutes=10)


class BrowserLimiter:
    """At most `limit` QR codes per browser binding per `window`, in this process (bounded memory)."""

    def __init__(self, limit: int = BROWSER_LIMIT, window: timedelta = BROWSER_WINDOW, *, capacity: int = 10_000):
        self._limit, self._window, self._capacity = limit, window, capacity
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()

    def allow(self, binding: str, *, now: datetime) -> bool:
        """Count one QR for this browser; False once it asked for `limit` within the window."""
        key = digest(binding)
        times = self._seen.pop(key, None) or deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        allowed = len(times) < self._limit
        if allowed:
            times.append(now)
        self._seen[key] = times
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return allowed


async def within_budget(db: Database, *, budget: int, now: datetime) -> bool:
    """Count one QR against the site's hourly budget; False once it is spent."""
    async with db.connection() as conn:
        return await ratelimit.hit(conn, "follow_qr:site", limit=budget, window=BUDGET_WINDOW, now=now)
