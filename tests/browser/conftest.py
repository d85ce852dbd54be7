"""Real-browser fixtures: the site and the simulator on live ports of two different sites, and Chromium.

The site listens on `localhost`, the simulator on `127.0.0.1`: for the browser those are two sites, so
WeChat's QR iframe is cross-site and the `SameSite=Lax` session cookie behaves as in production
(README, "Tests"; docs/wechat.md, "The embedded QR"). The site uses its own database with a normal connection
pool (a browser makes concurrent requests), emptied after every test.

One Chromium per test process (each xdist worker) serves every browser test of that process: launching it
for each test cost about half a second. Each test still gets a fresh browser: every person is a new
BrowserContext (its own cookies, storage, cache and connections, nothing shared with another context), and
`new_person` checks that it starts without a cookie. Playwright's objects belong to the event loop they were
made on, so the browser tests and their fixtures run on pytest-asyncio's session-wide loop (BROWSER_LOOP in
each browser test module's `pytestmark`).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wechat.harness import SIM_T0, Sim
from webapp.app import create_app
from webapp.db import Base, make_sessionmaker
from webapp.migrations import upgrade_head
from webapp.settings import Settings, WeChatAppConfig, to_asyncpg_url
from webapp.wechat_sim import fixture as sim_fixture
from webapp.wechat_sim.app import WXLOGIN_PATH, create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.state import SimulatorState

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 20_000  # generous: every wait is on an event, never a sleep
POLL_HOLD_S = 1.0  # the QR page's long poll returns at once on a change; a short hold keeps idle polls cheap
# The loop the browser tests run on (module `pytestmark`) and their async fixtures (`browser_fixture`).
BROWSER_LOOP = pytest.mark.asyncio(loop_scope="session")
browser_fixture = pytest_asyncio.fixture(loop_scope="session")
CSP_TEXT = re.compile(r"Content[- ]Security[- ]Policy|CSP-VIOLATION", re.IGNORECASE)

# Reported by every frame (ours and the simulator's) through the console, so the test sees it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP-VIOLATION " + e.effectiveDirective + " blocked " + e.blockedURI + " on " + location.href);
});
"""


def _listen(host: str, port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(app: web.Application, socks: list[socket.socket], shutdown_timeout: float = 1.0) -> web.AppRunner:
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    for sock in socks:
        await web.SockSite(runner, sock).start()
    return runner


@pytest.fixture(scope="session")
def browser_database_url(postgres: Any) -> str:
    """A database of its own for the browser tests, migrated once per session."""
    url = postgres.database_url("browser_test")
    upgrade_head(url)
    return url


async def _truncate(sm: async_sessionmaker[AsyncSession]) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with sm() as s:
        await s.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await s.commit()


@browser_fixture
async def live_db(browser_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A pooled sessionmaker on the browser database; every table emptied before and after the test."""
    sm = make_sessionmaker(to_asyncpg_url(browser_database_url))
    await _truncate(sm)
    yield sm
    await _truncate(sm)
    await sm.kw["bind"].dispose()


@browser_fixture
async def live_sim() -> AsyncIterator[Sim]:
    """The simulator on http://127.0.0.1:<free port>, its clock frozen, a short long-poll hold.

    It stops after the site and the browser contexts: what it still serves then is QR-page long polls of
    browsers that are gone, cancelled at once rather than waited out (up to POLL_HOLD_S each test)."""
    state = SimulatorState(clock=SimClock(frozen_at=SIM_T0), poll_hold_s=POLL_HOLD_S)
    sock = _listen("127.0.0.1")
    runner = await _serve(create_simulator_app(state), [sock], shutdown_timeout=0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with aiohttp.ClientSession() as http:
        yield Sim(url=url, state=state, http=http)
    await runner.cleanup()


@dataclass
class Live:
    """The site on http://localhost:<port> and the simulator it talks to."""

    url: str
    sim: Sim
    settings: Settings
    db: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime] | None = None  # the site's, when the test gave one

    async def qr(self, uuid: str, action: str, user: int = 1) -> dict[str, Any]:
        """Play the phone on a QR code: scan, confirm or cancel."""
        return await self.sim.control("POST", f"qr/{uuid}", {"user": user, "action": action})

    async def count(self, table: str) -> int:
        async with self.db() as s:
            return int(await s.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)


StartSite = Callable[..., Awaitable[Live]]


@browser_fixture
async def live(settings: Settings, live_sim: Sim, live_db: async_sessionmaker[AsyncSession]) -> AsyncIterator[StartSite]:
    """Start the site (settings overrides as keyword arguments) on localhost; stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(*, clock: Callable[[], datetime] | None = None, **overrides: Any) -> Live:
        sock = _listen("127.0.0.1")
        port = sock.getsockname()[1]
        socks = [sock]
        try:  # `localhost` may resolve to ::1 first (Playwright's request client does not fall back)
            socks.append(_listen("::1", port))
        except OSError:
            pass
        url = f"http://localhost:{port}"
        site_settings = settings.with_(**{
            "public_url": url,
            "wechat_web": WeChatAppConfig(sim_fixture.WEBSITE_APPID, sim_fixture.WEBSITE_SECRET),
            "wechat_mp": WeChatAppConfig(sim_fixture.MP_APPID, sim_fixture.MP_SECRET),
            "wechat_open_base": live_sim.url,
            "wechat_api_base": live_sim.url,
            "wechat_js_url": f"{live_sim.url}{WXLOGIN_PATH}",
            "wechat_timeout_s": 5.0,
            "run_worker": False,
            **overrides,
        })
        app = create_app(site_settings, sessionmaker=live_db, **({"clock": clock} if clock else {}))
        runners.append(await _serve(app, socks))
        return Live(url=url, sim=live_sim, settings=site_settings, db=live_db, clock=clock)

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@dataclass
class Person:
    """One person's browser (a Playwright context) with what its pages said on the console."""

    context: Any
    page: Any
    console: list[str] = field(default_factory=list)
    csp_violated: asyncio.Event = field(default_factory=asyncio.Event)

    def heard(self, line: str) -> None:
        self.console.append(line)
        if CSP_TEXT.search(line):
            self.csp_violated.set()

    async def me(self, live: Live) -> dict[str, Any] | None:
        """/api/me with this browser's cookies, or None when not logged in."""
        resp = await self.context.request.get(f"{live.url}/api/me")
        if resp.status == 401:
            return None
        assert resp.status == 200, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if CSP_TEXT.search(m)]


NewPerson = Callable[..., Awaitable[Person]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright, launched once per test process (see the module's docstring)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@browser_fixture
async def new_person(live: StartSite, chromium: Any) -> AsyncIterator[NewPerson]:
    """Open a fresh browser context (own cookies); keyword arguments go to new_context.

    Every context the test opened is closed after it, before the servers of `live` stop.
    """
    contexts: list[Any] = []

    async def open_(**options: Any) -> Person:
        options.setdefault("locale", "en-US")
        context = await chromium.new_context(**options)
        contexts.append(context)
        assert await context.cookies() == [], "a new context must start without cookies"
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_init_script(CSP_LISTENER)
        page = await context.new_page()
        person = Person(context, page)
        page.on("console", lambda m: person.heard(f"[{m.type}] {m.text} @ {m.location.get('url', '')}"))
        page.on("pageerror", lambda e: person.heard(f"[pageerror] {e}"))
        return person

    yield open_
    for context in contexts:
        await context.close()
