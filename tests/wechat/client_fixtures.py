"""Fixtures for the WeChat client tests: a real simulator over HTTP and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from webapp.wechat.client import WeChatClient
from webapp.wechat.schemas import WeChatApp
from webapp.wechat_sim import fixture as sim_fixture
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.state import SimulatorState

__all__ = [
    "MP",
    "SITE",
    "T0",
    "UNBOUND",
    "RecordingSleep",
    "SimRef",
    "http",
    "make_client",
    "sim",
    "sleeps",
    "wechat_client",
]

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a fixed start so expiries are exact.

SITE = WeChatApp(appid=sim_fixture.WEBSITE_APPID, secret=sim_fixture.WEBSITE_SECRET, kind="website")
MP = WeChatApp(appid=sim_fixture.MP_APPID, secret=sim_fixture.MP_SECRET, kind="official_account")
UNBOUND = WeChatApp(appid=sim_fixture.UNBOUND_APPID, secret=sim_fixture.UNBOUND_SECRET, kind="website")


@dataclass
class RecordingSleep:
    """Stands in for asyncio.sleep: records each delay and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@dataclass
class SimRef:
    """A running simulator and a few helpers for its control API."""

    url: str
    state: SimulatorState
    clock: SimClock
    http: aiohttp.ClientSession

    def now(self) -> datetime:
        """Return the simulator's time as an aware datetime (the client's `now`)."""
        return datetime.fromtimestamp(self.clock.now(), UTC)

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the simulator's /_sim/api and return its JSON answer."""
        async with self.http.request(method, f"{self.url}/_sim/api/{path}", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json(content_type=None)

    async def code(self, app: WeChatApp, user: int, scope: str) -> str:
        """Return a code as if `user` had just authorized `app` with `scope`."""
        return (await self.control("POST", "codes", {"appid": app.appid, "user": user, "scope": scope}))["code"]

    async def fault(self, path: str, **fault: Any) -> None:
        """Make the simulator misbehave on `path` (errcode/times, delay_s, http_status, body, drop)."""
        await self.control("POST", "faults", {"path": path, **fault})

    async def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward."""
        await self.control("POST", "clock", {"advance_s": seconds})

    async def revoke(self, app: WeChatApp, user: int) -> None:
        """Revoke the user's tokens for this app."""
        await self.control("POST", "tokens/revoke", {"appid": app.appid, "user": user})

    async def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """Return the simulator's log of /sns calls, optionally only those to `path`."""
        answer = await self.control("GET", "calls")
        calls = answer["calls"] if isinstance(answer, dict) else answer
        return [c for c in calls if path is None or c.get("path") == path]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp session, like the app's single shared one."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim(aiohttp_server: Any, http: aiohttp.ClientSession) -> SimRef:
    """The WeChat simulator on a local port, with a frozen clock at T0."""
    clock = SimClock(frozen_at=T0)
    state = SimulatorState(clock=clock)
    server = await aiohttp_server(create_simulator_app(state))
    return SimRef(url=str(server.make_url("")).rstrip("/"), state=state, clock=clock, http=http)


@pytest.fixture
def sleeps() -> RecordingSleep:
    """The client's injected sleep; tests read `.delays`."""
    return RecordingSleep()


@pytest.fixture
def make_client(
    sim: SimRef, http: aiohttp.ClientSession, sleeps: RecordingSleep
) -> Callable[..., WeChatClient]:
    """Build a client on the simulator; keyword arguments override the defaults."""

    def build(**overrides: Any) -> WeChatClient:
        options: dict[str, Any] = {"api_base": sim.url, "sleep": sleeps, "now": sim.now, **overrides}
        return WeChatClient(http, **options)

    return build


@pytest.fixture
def wechat_client(make_client: Callable[..., WeChatClient]) -> WeChatClient:
    """The client as the app builds it, but on the simulator and a recording sleep."""
    return make_client()

