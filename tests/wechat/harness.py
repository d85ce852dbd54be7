"""End-to-end harness: the site and the simulator on two loopback servers, driven like a person would.

A `Browser` is the person's browser (its own cookie jar, optionally WeChat's user agent); the
simulator's control API plays the phone. Nothing is mocked: every hop is real HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from tests.wechat.client_fixtures import RecordingSleep
from webapp.app import create_app
from webapp.csrf import CSRF_FIELD
from webapp.models import OAuthState, User, WeChatIdentity, WeChatUnion
from webapp.settings import Settings, WeChatAppConfig
from webapp.wechat_sim import fixture as sim_fixture
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.state import SimulatorState

SIM_T0 = 1_795_694_400.0  # 2026-11-20T12:00:00Z, like the site's T0
DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN"
)
_CSRF_RE = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')


@dataclass
class Sim:
    """The running simulator and its control API."""

    url: str
    state: SimulatorState
    http: aiohttp.ClientSession

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call /_sim/api/<path> and return its JSON."""
        async with self.http.request(method, f"{self.url}/_sim/api/{path}", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def fault(self, path: str, **fault: Any) -> None:
        """Inject a fault on a /sns path."""
        await self.control("POST", "faults", {"path": path, **fault})

    async def calls(self, path: str) -> list[dict[str, Any]]:
        """The simulator's call log entries for one path."""
        return [c for c in await self.control("GET", "calls") if c["path"] == path]

    async def user(self, user_id: int) -> dict[str, Any]:
        """A test user as the control API describes it."""
        return next(u for u in await self.control("GET", "users") if u["id"] == user_id)


class Browser:
    """One person's browser on the site (cookie jar, user agent) plus their WeChat on the simulator."""

    def __init__(self, site: TestClient, sim: Sim, phone: aiohttp.ClientSession, *, wechat: bool = False) -> None:
        self.site, self.sim, self.phone = site, sim, phone
        self.headers = {"User-Agent": WECHAT_UA if wechat else DESKTOP_UA, "Accept-Language": "en"}

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        """GET on the site without following redirects."""
        return await self.site.get(path, headers=self.headers, allow_redirects=False, **kwargs)

    async def follow(self, path: str) -> aiohttp.ClientResponse:
        """GET on the site following redirects that stay on the site."""
        resp = await self.get(path)
        while resp.status in (301, 302, 303) and resp.headers["Location"].startswith("/"):
            resp = await self.get(resp.headers["Location"])
        return resp

    async def csrf(self, path: str = "/settings") -> str:
        """The CSRF token of a page's forms."""
        resp = await self.get(path)
        match = _CSRF_RE.search(await resp.text())
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    async def post(self, path: str, data: dict[str, str], *, csrf_from: str = "/settings") -> aiohttp.ClientResponse:
        """POST a form with the session's CSRF token, without following redirects."""
        token = await self.csrf(csrf_from)
        return await self.site.post(path, data={CSRF_FIELD: token, **data}, headers=self.headers, allow_redirects=False)

    async def signup(self, username: str = "alice", password: str = "correct horse battery") -> None:
        """Create a password account and stay logged in."""
        resp = await self.post("/signup", {"username": username, "password": password, "confirm": password,
                                           "password_confirm": password, "display_name": username}, csrf_from="/signup")
        assert resp.status == 302, await resp.text()

    async def me(self) -> dict[str, Any] | None:
        """/api/me, or None when not logged in."""
        resp = await self.get("/api/me")
        return await resp.json() if resp.status == 200 else None

    async def scan_qr(self, authorize_url: str, user: int) -> str:
        """Open WeChat's QR page, scan and confirm as `user`; return the callback path WeChat redirects to."""
        async with self.phone.get(authorize_url.split("#")[0] + "&f=xml") as resp:
            assert resp.status == 200, await resp.text()
            uuid = re.search(r"<uuid><!\[CDATA\[([^\]]+)\]\]></uuid>", await resp.text()).group(1)  # type: ignore[union-attr]
        await self.sim.control("POST", f"qr/{uuid}", {"user": user, "action": "scan"})
        confirmed = await self.sim.control("POST", f"qr/{uuid}", {"user": user, "action": "confirm"})
        return local_path(confirmed["redirect_url"])

    async def start(self, path: str = "/auth/wechat/start?next=/settings") -> str:
        """Start a flow on the site; return WeChat's authorize URL it redirects to."""
        resp = await self.get(path) if not path.startswith("POST ") else await self.post(path[5:], {})
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]

    async def authorize_in_wechat(self, authorize_url: str, user: int, *, decision: str = "allow", snapshot: bool = False) -> str:
        """Open oauth2/authorize as `user`'s WeChat (consenting if asked); return the callback path."""
        query = {"user": str(user), "next": authorize_url, **({"snapshot": "1"} if snapshot else {})}
        async with self.phone.get(f"{self.sim.url}/_sim/wechat-browser", params=query, allow_redirects=False) as resp:
            assert resp.status == 302
        async with self.phone.get(authorize_url.split("#")[0], allow_redirects=False) as resp:
            if resp.status == 302:
                return local_path(resp.headers["Location"])
            page = await resp.text()
        if snapshot:  # WeChat's snapshot page: browse with a virtual identity
            href = re.search(r'id="snapshot-browse" href="([^"]+)"', page)
            assert href, page
            return local_path(_unescape(href.group(1)))
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        fields = {k: _unescape(v) for k, v in fields.items()}
        async with self.phone.post(
            f"{self.sim.url}/connect/oauth2/authorize/decide", data={**fields, "decision": decision}, allow_redirects=False
        ) as resp:
            assert resp.status == 302, await resp.text()
            return local_path(resp.headers["Location"])

    async def qr_login(self, user: int = 1, next_path: str = "/settings") -> aiohttp.ClientResponse:
        """The whole QR redirect login; returns the callback's response (not followed)."""
        authorize = await self.start(f"/auth/wechat/start?next={next_path}")
        return await self.get(await self.scan_qr(authorize, user))

    async def wechat_login(self, user: int = 1, next_path: str = "/settings", **kw: Any) -> aiohttp.ClientResponse:
        """The in-WeChat login (snsapi_base first); returns the callback's response (not followed)."""
        authorize = await self.start(f"/auth/wechat/start?next={next_path}")
        return await self.get(await self.authorize_in_wechat(authorize, user, **kw))


def local_path(url: str) -> str:
    """The path and query of an absolute URL (the site's test server stands in for PUBLIC_URL)."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, single-valued."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _unescape(value: str) -> str:
    return value.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")


async def count(sm: Any, model: type) -> int:
    """Rows in a table (inside the test's transaction)."""
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def table_counts(sm: Any) -> dict[str, int]:
    """Rows in every table a WeChat flow may write."""
    return {m.__tablename__: await count(sm, m) for m in (User, WeChatIdentity, WeChatUnion)}


class World:
    """Everything a WeChat end-to-end test needs."""

    def __init__(self, site: TestClient, sim: Sim, settings: Settings, sessionmaker: Any, clock: Any) -> None:
        self.site, self.sim, self.settings, self.sm, self.clock = site, sim, settings, sessionmaker, clock
        self._phones: list[aiohttp.ClientSession] = []

    def browser(self, *, wechat: bool = False) -> Browser:
        """A new browser (fresh cookies) with its own WeChat on the simulator."""
        phone = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # the sim is on an IP
        self._phones.append(phone)
        return Browser(self._client(), self.sim, phone, wechat=wechat)

    def _client(self) -> TestClient:
        if not hasattr(self, "_first"):
            self._first = True
            return self.site
        client = TestClient(self.site.server, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._extra = [*getattr(self, "_extra", []), client]
        return client

    async def close(self) -> None:
        for phone in self._phones:
            await phone.close()
        for client in getattr(self, "_extra", []):
            await client.close()

    async def state_row(self, state: str) -> OAuthState | None:
        """The claim a callback stored for an OAuth state (keyed by the state's random part)."""
        from webapp.wechat.states import KEY_LENGTH

        async with self.sm() as s:
            return await s.get(OAuthState, state[1 : 1 + KEY_LENGTH] if len(state) > 64 else state)


@pytest.fixture
async def sim_server(aiohttp_server) -> AsyncIterator[Sim]:  # type: ignore[no-untyped-def]
    """The simulator on its own loopback server, clock frozen at SIM_T0."""
    state = SimulatorState(clock=SimClock(frozen_at=SIM_T0), poll_hold_s=0.0)
    server = await aiohttp_server(create_simulator_app(state))
    async with aiohttp.ClientSession() as http:
        yield Sim(url=str(server.make_url("")).rstrip("/"), state=state, http=http)


@pytest.fixture
def wechat_settings(settings: Settings, sim_server: Sim) -> Settings:
    """Site settings pointing both WeChat apps at the simulator."""
    return settings.with_(
        wechat_web=WeChatAppConfig(sim_fixture.WEBSITE_APPID, sim_fixture.WEBSITE_SECRET),
        wechat_mp=WeChatAppConfig(sim_fixture.MP_APPID, sim_fixture.MP_SECRET),
        wechat_open_base=sim_server.url,
        wechat_api_base=sim_server.url,
        wechat_js_url=f"{sim_server.url}/connect/zh_CN/htmledition/js/wxLogin.js",
        wechat_timeout_s=5.0,
    )


async def _world(aiohttp_client, settings: Settings, sm: Any, clock: Any, sim: Sim) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    sleeps = RecordingSleep()  # the site's WeChat client records its retry waits instead of sleeping
    site = await aiohttp_client(create_app(settings, sessionmaker=sm, clock=clock, wechat_sleep=sleeps))
    w = World(site, sim, settings, sm, clock)
    w.sleeps = sleeps
    yield w
    await w.close()


@pytest.fixture
async def world(aiohttp_client, wechat_settings, sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    """The site (on the test's rolled-back transaction) and the simulator, ready to drive."""
    async for w in _world(aiohttp_client, wechat_settings, sessionmaker, clock, sim_server):
        yield w


@pytest.fixture
async def pooled_world(aiohttp_client, wechat_settings, pooled_sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    """Like `world`, on a pooled database with real commits: for concurrent requests."""
    async for w in _world(aiohttp_client, wechat_settings, pooled_sessionmaker, clock, sim_server):
        yield w
