"""A person's browser against the running site and simulator: one QR login, over real HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
HEADERS = {"User-Agent": DESKTOP_UA, "Accept-Language": "en"}
_UUID_RE = re.compile(r"<uuid><!\[CDATA\[([^\]]+)\]\]></uuid>")


class FlowError(RuntimeError):
    """A step of a flow answered something other than what a working site answers."""


@dataclass(frozen=True)
class Endpoints:
    """Where the site and the simulator listen."""

    site: str
    sim: str


async def expect(resp: aiohttp.ClientResponse, status: int, step: str) -> None:
    """Raise FlowError unless `resp` has `status`."""
    if resp.status != status:
        body = (await resp.text())[:200].replace("\n", " ")
        raise FlowError(f"{step}: HTTP {resp.status} (wanted {status}): {body}")


async def sim_control(http: aiohttp.ClientSession, sim: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the simulator's control API and return its JSON."""
    async with http.post(f"{sim}/_sim/api/{path}", json=body) as resp:
        await expect(resp, 200, f"POST /_sim/api/{path}")
        data: dict[str, Any] = await resp.json()
        return data


async def qr_login(browser: aiohttp.ClientSession, ends: Endpoints, user: int) -> str:
    """start → qrconnect (f=xml) → scan → confirm → callback → final page; return the final page's URL."""
    async with browser.get(f"{ends.site}/auth/wechat/start?next=/settings", allow_redirects=False) as resp:
        await expect(resp, 302, "GET /auth/wechat/start")
        authorize = resp.headers["Location"]
    async with browser.get(authorize.split("#")[0] + "&f=xml") as resp:
        await expect(resp, 200, "GET /connect/qrconnect")
        match = _UUID_RE.search(await resp.text())
    if match is None:
        raise FlowError("GET /connect/qrconnect: no <uuid> in the answer")
    await sim_control(browser, ends.sim, f"qr/{match.group(1)}", {"user": user, "action": "scan"})
    confirmed = await sim_control(browser, ends.sim, f"qr/{match.group(1)}", {"user": user, "action": "confirm"})
    async with browser.get(confirmed["redirect_url"]) as resp:
        await expect(resp, 200, "GET /auth/wechat/callback (followed)")
        if not resp.history or resp.url.path in ("/login", "/auth/wechat/callback"):
            raise FlowError(f"callback did not log in: ended at {resp.url.path}")
        await resp.read()
        return str(resp.url)


def new_browser(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    """A browser with its own empty cookie jar, sharing `connector`'s keep-alive connections."""
    return aiohttp.ClientSession(
        connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True), headers=HEADERS
    )
