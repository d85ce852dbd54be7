"""The mini program's figures: returning logins (a wx.login code for a token) and GET /api/me with a bearer token."""

from __future__ import annotations

from functools import partial
from typing import Any

import aiohttp

from benchmarks.bench import Bench
from benchmarks.browser import ME_PATH, Endpoints, check_me, expect, sim_control
from benchmarks.load import LoadResult, run_load
from benchmarks.site_phases import UNBOUNDED_S, untimed
from benchmarks.web_phases import loopback_connector, measure_rounds
from webapp.wechat_sim import fixture

LOGIN_PATH = "/api/wechat/mini/login"


async def mini_login(http: aiohttp.ClientSession, user: int, *, ends: Endpoints) -> str:
    """What the mini program does: a wx.login code from the simulator, exchanged for a token at the site."""
    code = (await sim_control(http, ends.sim, "mini/login-code", {"user": user}))["code"]
    async with http.post(f"{ends.site}{LOGIN_PATH}", json={"code": code}) as resp:
        await expect(resp, 200, f"POST {LOGIN_PATH}")
        body: dict[str, Any] = await resp.json()
    check_me(body["user"], appid=fixture.MINI_APPID, user=user, uid_key="openid")
    return str(body["token"])


async def _login_round(http: aiohttp.ClientSession, user: int, *, ends: Endpoints) -> None:
    await mini_login(http, user, ends=ends)


async def bearer_hammer(url: str, token: str, *, concurrency: int, duration_s: float) -> LoadResult:
    """GET `url` with the bearer token as fast as `concurrency` clients can, every answer checked."""
    headers = {"Authorization": f"Bearer {token}"}
    async with loopback_connector(concurrency) as connector, aiohttp.ClientSession(
        connector=connector, connector_owner=False, headers=headers, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:

        async def one(index: int) -> None:
            async with http.get(url, allow_redirects=False) as resp:
                await expect(resp, 200, f"GET {url} (bearer)")
                await resp.read()

        return await run_load(one, concurrency=concurrency, duration_s=duration_s)


async def mini_figures(b: Bench, ends: Endpoints) -> dict[str, Any]:
    """The cohort's first mini program logins (linked by unionid, untimed), then returning ones and bearer /api/me."""
    conc, cohort, duration = b.config.concurrency, b.people.cohort, b.config.duration_s
    login = partial(_login_round, ends=ends)
    await untimed(f"{len(cohort)} first mini program logins (linked by unionid)", measure_rounds(
        login, cohort, concurrency=conc, duration_s=UNBOUNDED_S, max_ops=len(cohort)))
    returning = await b.timed("mini program logins of returning users", measure_rounds(
        login, cohort, concurrency=conc, duration_s=duration))
    async with loopback_connector(1) as connector, aiohttp.ClientSession(connector=connector) as http:
        token = await mini_login(http, cohort[0], ends=ends)
    me = await b.timed("GET /api/me with a bearer token", bearer_hammer(
        ends.site + ME_PATH, token, concurrency=conc, duration_s=duration), scans=True)
    return {"login_returning": returning, "api_me_bearer": me}
