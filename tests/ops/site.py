"""`webapp serve` child processes configured like production, with WeChat pointed at the test's simulator."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import TOKEN_KEY
from webapp.wechat_sim import fixture as sim_fixture

from .cli import command_env
from .processes import Child, running

SECRET_KEY = "ops-test-secret-key-0123456789-abcdefghijklmnop"


def site_env(database_url: str, *, sim_url: str, public_url: str, **extra: str) -> dict[str, str]:
    """A safe production configuration: both WeChat apps are the simulator's."""
    return command_env(
        database_url,
        SECRET_KEY=SECRET_KEY, TOKEN_KEYS=TOKEN_KEY, PUBLIC_URL=public_url,
        WECHAT_WEB_APPID=sim_fixture.WEBSITE_APPID, WECHAT_WEB_SECRET=sim_fixture.WEBSITE_SECRET,
        WECHAT_MP_APPID=sim_fixture.MP_APPID, WECHAT_MP_SECRET=sim_fixture.MP_SECRET,
        WECHAT_OPEN_BASE=sim_url, WECHAT_API_BASE=sim_url,
        WECHAT_JS_URL=f"{sim_url}/connect/zh_CN/htmledition/js/wxLogin.js",
    ) | extra


@asynccontextmanager
async def serving(ports: list[int], env: dict[str, str], cwd: Path) -> AsyncIterator[list[Child]]:
    """One `webapp serve --no-worker` per port, each ready once it printed its address."""
    async with AsyncExitStack() as stack:
        children = []
        for port in ports:
            argv = [sys.executable, "-m", "webapp", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
            children.append(await stack.enter_async_context(running(f"site:{port}", argv, env=env, cwd=cwd)))
        for child, port in zip(children, ports, strict=True):
            await child.wait_for_line(rf"127\.0\.0\.1:{port}\b")
        yield children


class Origin:
    """A base URL with the TestClient-like get/post the harness's Browser drives."""

    def __init__(self, base: str, http: aiohttp.ClientSession) -> None:
        self.base, self.http = base, http

    async def get(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        """GET base + path."""
        return await self.http.get(self.base + path, **kw)

    async def post(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        """POST base + path."""
        return await self.http.post(self.base + path, **kw)
