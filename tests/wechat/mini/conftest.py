"""The site with its mini program configured, the simulator beside it, and a driver for the mini program's API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.wechat.harness import Sim, World, _world, sim_server, wechat_settings  # noqa: F401
from webapp.settings import Settings, WeChatAppConfig
from webapp.wechat_sim import fixture as fx


@dataclass
class Answer:
    """An API answer: status, headers and JSON body (None when there is none)."""

    status: int
    body: Any
    headers: Any


class Mini:
    """The mini program's front end: codes from the simulator (as wx.login would), requests to the site."""

    def __init__(self, world: World) -> None:
        self.world, self.sim = world, world.sim
        self.site = TestClient(world.site.server, cookie_jar=aiohttp.DummyCookieJar())  # wx.request keeps no cookies
        world._extra = [*getattr(world, "_extra", []), self.site]  # closed with the world

    async def login_code(self, user: int, appid: str = fx.MINI_APPID) -> str:
        """A wx.login code of a test user."""
        return str((await self.sim.control("POST", "mini/login-code", {"user": user, "appid": appid}))["code"])

    async def phone_code(self, user: int) -> str:
        """A getPhoneNumber code of a test user."""
        return str((await self.sim.control("POST", "mini/phone-code", {"user": user}))["code"])

    async def call(self, path: str, body: Any = None, *, token: str | None = None, method: str = "POST",
                   raw: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        """One request to the site's API as wx.request sends it (JSON, no cookies)."""
        sent = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        sent |= headers or {}
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        resp = await self.site.request(method, path, data=data, headers=sent, allow_redirects=False)
        text = await resp.text()
        parsed = json.loads(text) if text and resp.content_type == "application/json" else None
        assert "Set-Cookie" not in resp.headers, resp.headers.getall("Set-Cookie")
        return Answer(resp.status, parsed, resp.headers)

    async def login(self, user: int = 1, appid: str = fx.MINI_APPID) -> dict[str, Any]:
        """Log in as a test user; the 200 answer's JSON."""
        answer = await self.call("/api/wechat/mini/login", {"code": await self.login_code(user, appid)})
        assert answer.status == 200, answer.body
        return dict(answer.body)

    async def me(self, token: str) -> Answer:
        """/api/me with a bearer token."""
        return await self.call("/api/me", token=token, method="GET")


@pytest.fixture
def mini_settings(wechat_settings: Settings) -> Settings:  # noqa: F811
    """Both web apps and the bound mini program, all on the simulator."""
    return wechat_settings.with_(wechat_mini=WeChatAppConfig(fx.MINI_APPID, fx.MINI_SECRET))


@pytest.fixture
async def world(aiohttp_client, mini_settings, sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The site (rolled-back transaction) with its mini program, and the simulator."""
    async for w in _world(aiohttp_client, mini_settings, sessionmaker, clock, sim_server):
        yield w


@pytest.fixture
async def pooled_world(aiohttp_client, mini_settings, pooled_sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Like `world`, with real commits: for concurrent requests."""
    async for w in _world(aiohttp_client, mini_settings, pooled_sessionmaker, clock, sim_server):
        yield w


@pytest.fixture
async def mini(world: World) -> Mini:
    """The mini program's front end on `world`."""
    return Mini(world)


@pytest.fixture
async def unbound_mini(aiohttp_client, wechat_settings, sessionmaker, clock, sim_server) -> AsyncIterator[Mini]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A site whose mini program is not bound to the open platform (no unionid)."""
    settings = wechat_settings.with_(wechat_mini=WeChatAppConfig(fx.UNBOUND_MINI_APPID, fx.UNBOUND_MINI_SECRET))
    async for w in _world(aiohttp_client, settings, sessionmaker, clock, sim_server):
        yield Mini(w)
