"""Fixtures for the simulator's own tests: a frozen clock, a live simulator server, a driver."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.state import SimulatorState

T0 = 1_700_000_000.0
CALLBACK = "http://localhost:8080/auth/wechat/callback"
POLL_RE = re.compile(r"^window\.wx_errcode=(\d+);window\.wx_code='([^']*)';$")


@dataclass
class Sim:
    """A running simulator and shortcuts for driving it over HTTP."""

    state: SimulatorState
    client: TestClient

    async def sns(self, path: str, **params: str) -> dict[str, Any]:
        """GET an /sns path and parse the body as WeChat's UTF-8 JSON."""
        resp = await self.client.get(path, params=params)
        assert resp.status == 200
        return await resp.json(content_type=None, encoding="utf-8")

    async def issue_code(self, appid: str = fx.WEBSITE_APPID, user: int = 1, **extra: Any) -> str:
        """Issue a code through the control API."""
        resp = await self.client.post("/_sim/api/codes", json={"appid": appid, "user": user, **extra})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["code"]

    async def exchange(self, code: str, appid: str = fx.WEBSITE_APPID, secret: str = fx.WEBSITE_SECRET
                       ) -> dict[str, Any]:
        """Exchange a code for tokens."""
        return await self.sns("/sns/oauth2/access_token", appid=appid, secret=secret, code=code,
                              grant_type="authorization_code")

    async def login(self, appid: str = fx.WEBSITE_APPID, secret: str = fx.WEBSITE_SECRET, user: int = 1,
                    **extra: Any) -> dict[str, Any]:
        """Issue a code and exchange it."""
        return await self.exchange(await self.issue_code(appid, user, **extra), appid, secret)

    async def refresh(self, refresh_token: str, appid: str = fx.WEBSITE_APPID) -> dict[str, Any]:
        """Refresh a token."""
        return await self.sns("/sns/oauth2/refresh_token", appid=appid, grant_type="refresh_token",
                              refresh_token=refresh_token)

    async def advance(self, seconds: float) -> float:
        """Move the simulator clock through the control API."""
        resp = await self.client.post("/_sim/api/clock", json={"advance_s": seconds})
        return (await resp.json())["now"]

    async def new_qr(self, redirect_uri: str = CALLBACK, state: str = "st4te", appid: str = fx.WEBSITE_APPID
                     ) -> str:
        """Open the QR page with f=xml and return the uuid."""
        resp = await self.client.get("/connect/qrconnect", params={
            "appid": appid, "redirect_uri": redirect_uri, "response_type": "code", "scope": "snsapi_login",
            "state": state, "f": "xml"})
        match = re.search(r"<uuid><!\[CDATA\[(\w{16})\]\]></uuid>", await resp.text())
        assert match, await resp.text()
        return match.group(1)

    async def qr(self, uuid: str, action: str, user: int | None = 1) -> Any:
        """Do a phone action on a QR session; return (status, json)."""
        resp = await self.client.post(f"/_sim/api/qr/{uuid}", json={"user": user, "action": action})
        return resp.status, await resp.json()

    async def poll(self, uuid: str, last: str | None = None) -> tuple[int, str]:
        """Run one long poll and return (wx_errcode, wx_code)."""
        params = {"uuid": uuid, "_": "1"} | ({"last": last} if last else {})
        resp = await self.client.get("/connect/l/qrconnect", params=params)
        match = POLL_RE.match(await resp.text())
        assert match, await resp.text()
        return int(match.group(1)), match.group(2)


@pytest.fixture
def sim_state() -> SimulatorState:
    """A simulator state with a frozen clock and a short long-poll hold."""
    return SimulatorState(clock=SimClock(frozen_at=T0), poll_hold_s=0.05)


@pytest.fixture
async def sim(aiohttp_client: Callable[..., Awaitable[TestClient]], sim_state: SimulatorState) -> Sim:
    """A simulator served over real HTTP."""
    client = await aiohttp_client(create_simulator_app(sim_state))
    return Sim(sim_state, client)
