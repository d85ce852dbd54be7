"""Load on the web: login round trips in fresh cookie jars, and one logged-in session hammering a page."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from yarl import URL

from benchmarks.browser import HEADERS, ME_PATH, Endpoints, expect, new_browser, qr_login
from benchmarks.load import LoadResult, run_load

Round = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


def loopback_connector(concurrency: int) -> aiohttp.TCPConnector:
    """Keep-alive connections over IPv4 loopback, enough for every worker."""
    return aiohttp.TCPConnector(limit=concurrency * 2, family=socket.AF_INET)


async def measure_rounds(one_round: Round, users: Sequence[int], *, concurrency: int, duration_s: float,
                         max_ops: int | None = None, headers: dict[str, str] = HEADERS) -> LoadResult:
    """`one_round(browser, user)` again and again, each in a fresh cookie jar, cycling through `users`."""
    async with loopback_connector(concurrency) as connector:

        async def one(index: int) -> None:
            async with new_browser(connector, headers) as browser:
                await one_round(browser, users[index % len(users)])

        return await run_load(one, concurrency=concurrency, duration_s=duration_s, max_ops=max_ops)


async def hammer(url: str, cookies: dict[str, str], *, concurrency: int, duration_s: float) -> LoadResult:
    """GET `url` as fast as `concurrency` clients can, each answer checked for 200 and read in full."""
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    headers = HEADERS | ({"Cookie": cookie} if cookie else {})
    async with loopback_connector(concurrency) as connector, aiohttp.ClientSession(
        connector=connector, connector_owner=False, headers=headers, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:

        async def one(index: int) -> None:
            async with http.get(url, allow_redirects=False) as resp:
                await expect(resp, 200, f"GET {url}")
                await resp.read()

        return await run_load(one, concurrency=concurrency, duration_s=duration_s)


async def logged_in_session(ends: Endpoints, user: int) -> tuple[dict[str, str], dict[str, Any]]:
    """Log returning `user` in with a QR login; return the session's cookies and its /api/me body."""
    async with loopback_connector(1) as connector, new_browser(connector) as browser:
        await qr_login(browser, user, ends=ends, new=False)
        async with browser.get(f"{ends.site}{ME_PATH}") as resp:
            await expect(resp, 200, f"GET {ME_PATH}")
            body: dict[str, Any] = await resp.json()
        jar = browser.cookie_jar.filter_cookies(URL(ends.site))
        return {name: morsel.value for name, morsel in jar.items()}, body
