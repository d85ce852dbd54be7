"""A person's browser against the running site and simulator: QR logins and in-WeChat logins, over real HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from webapp.wechat_sim import fixture, ids

DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
)
HEADERS = {"User-Agent": DESKTOP_UA, "Accept-Language": "en"}
WECHAT_HEADERS = {"User-Agent": WECHAT_UA, "Accept-Language": "zh-CN"}
ME_PATH = "/api/me"
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
        raise FlowError(f"{step}: HTTP {resp.status} (wanted {status}) at {resp.url.path}: {body}")


async def sim_control(http: aiohttp.ClientSession, sim: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the simulator's control API and return its JSON."""
    async with http.post(f"{sim}/_sim/api/{path}", json=body) as resp:
        await expect(resp, 200, f"POST /_sim/api/{path}")
        data: dict[str, Any] = await resp.json()
        return data


async def location(browser: aiohttp.ClientSession, url: str, step: str) -> str:
    """GET `url` without following, expect a 302 and return where it points."""
    async with browser.get(url, allow_redirects=False) as resp:
        await expect(resp, 302, step)
        return resp.headers["Location"]


async def scan_qr(browser: aiohttp.ClientSession, sim: str, qrconnect: str, user: int) -> str:
    """WeChat's QR page (f=xml, for its uuid), then the phone scans and confirms; return the callback URL."""
    async with browser.get(qrconnect.split("#")[0] + "&f=xml") as resp:
        await expect(resp, 200, "GET /connect/qrconnect")
        match = _UUID_RE.search(await resp.text())
    if match is None:
        raise FlowError("GET /connect/qrconnect: no <uuid> in the answer")
    await sim_control(browser, sim, f"qr/{match.group(1)}", {"user": user, "action": "scan"})
    confirmed = await sim_control(browser, sim, f"qr/{match.group(1)}", {"user": user, "action": "confirm"})
    return str(confirmed["redirect_url"])


async def read_me(browser: aiohttp.ClientSession, url: str, *, appid: str, user: int, uid_key: str) -> None:
    """GET a "me" JSON view and check that it names the simulator's openid of `user` under `appid`."""
    async with browser.get(url, allow_redirects=False) as resp:
        await expect(resp, 200, f"GET {URL(url).path}")
        check_me(await resp.json(), appid=appid, user=user, uid_key=uid_key)


def check_me(body: dict[str, Any], *, appid: str, user: int, uid_key: str) -> None:
    """Raise FlowError unless a "me" JSON body lists the simulator's openid of `user` under `appid`."""
    openid = ids.openid_for(appid, user)
    if not any(item.get(uid_key) == openid for item in body.get("wechat") or ()):
        raise FlowError(f"the \"me\" view is logged in, but not as WeChat user {user} ({openid})")


async def qr_login(browser: aiohttp.ClientSession, user: int, *, ends: Endpoints, new: bool) -> None:
    """start → qrconnect → scan → confirm → callback → /api/me, checked.

    The callback must send a returning user straight to /api/me and a new one to the welcome page, which
    is not loaded: the round is the same three site requests for both (a page render is measured apart).
    """
    qrconnect = await location(browser, f"{ends.site}/auth/wechat/start?next={ME_PATH}", "GET /auth/wechat/start")
    callback = await scan_qr(browser, ends.sim, qrconnect, user)
    landing = await location(browser, callback, "GET /auth/wechat/callback")
    if (URL(landing).path == ME_PATH) == new:
        wanted = "a first login's welcome page" if new else ME_PATH
        raise FlowError(f"callback sent a {'new' if new else 'returning'} user to {landing}, wanted {wanted}")
    await read_me(browser, ends.site + ME_PATH, appid=fixture.WEBSITE_APPID, user=user, uid_key="openid")


async def wechat_login(browser: aiohttp.ClientSession, user: int, *, ends: Endpoints, step_up: bool = False) -> None:
    """In WeChat: be user's WeChat → start → oauth2/authorize → callback → /api/me, following every redirect.

    snsapi_base by default (silent for a known user); `step_up` asks for snsapi_userinfo, silent once the
    user has consented (see `consent`).
    """
    start = f"{ends.site}/auth/wechat/start?next={ME_PATH}" + ("&scope=userinfo" if step_up else "")
    entry = f"{ends.sim}/_sim/wechat-browser?user={user}&next={quote(start, safe='')}"
    async with browser.get(entry, max_redirects=10) as resp:
        await expect(resp, 200, "in-WeChat login (redirects followed)")
        if resp.url.path != ME_PATH:
            raise FlowError(f"in-WeChat login ended at {resp.url.path}, wanted {ME_PATH} (silent login)")
        check_me(await resp.json(), appid=fixture.MP_APPID, user=user, uid_key="openid")


async def consent(http: aiohttp.ClientSession, sim: str, user: int) -> None:
    """Record that `user` allowed the official account's snsapi_userinfo (the control API's side effect)."""
    await sim_control(http, sim, "codes", {"appid": fixture.MP_APPID, "user": user, "scope": "snsapi_userinfo"})


def new_browser(connector: aiohttp.BaseConnector, headers: dict[str, str] = HEADERS) -> aiohttp.ClientSession:
    """A browser with its own empty cookie jar, sharing `connector`'s keep-alive connections."""
    return aiohttp.ClientSession(
        connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers
    )
