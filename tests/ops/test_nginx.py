"""deploy/nginx/webapp.conf in front of two `webapp serve` processes: TLS, WeChat login, client address, static.

Real nginx, real site processes on a pooled test database, the simulator on loopback. The browser
connects from 127.0.0.2, so the address the site records tells whose X-Forwarded-For it believed.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.wechat.harness import Browser, Sim

from .cli import command_env, webapp
from .nginx import NGINX, READY, NginxSite, prepare
from .processes import free_port, running
from .site import Origin, serving, site_env

pytestmark = pytest.mark.skipif(not NGINX.exists(), reason="Debian's nginx is not installed (apt-get install nginx)")
CLIENT_ADDR = "127.0.0.2"
SPOOFED = "203.0.113.66"


@dataclass
class Deployment:
    """nginx, the site's ports and an https browser session coming from CLIENT_ADDR."""

    nginx: NginxSite
    site_ports: list[int]
    http: aiohttp.ClientSession
    sim: Sim
    _phones: list[aiohttp.ClientSession]

    def browser(self) -> Browser:
        """The harness's Browser, over https through nginx, always sending a spoofed X-Forwarded-For."""
        phone = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._phones.append(phone)
        browser = Browser(Origin(self.nginx.public_url, self.http), self.sim, phone)  # type: ignore[arg-type]
        browser.headers["X-Forwarded-For"] = SPOOFED
        return browser

    async def barrier(self) -> None:
        """One more request: with a single nginx worker, every earlier request is in the access log now."""
        async with self.http.get(f"{self.nginx.public_url}/static/css/site.css") as resp:
            assert resp.status == 200


async def deploy(stack: AsyncExitStack, tmp_path: Path, sim: Sim, database_url: str, *, sites: int,
                 **site_vars: str) -> Deployment:
    """Start `sites` site processes, nginx in front of them, and an https client from CLIENT_ADDR."""
    ports = [free_port() for _ in range(sites)]
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    nginx = prepare(prefix, ports)
    env = site_env(database_url, sim_url=sim.url, public_url=nginx.public_url, **site_vars)
    await stack.enter_async_context(serving(ports, env, tmp_path))
    await stack.enter_async_context(running("nginx", nginx.argv, ready=READY))
    tls = ssl.create_default_context(cafile=str(nginx.cert))
    connector = aiohttp.TCPConnector(ssl=tls, local_addr=(CLIENT_ADDR, 0))
    http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
    deployment = Deployment(nginx, ports, http, sim, [])
    stack.push_async_callback(lambda: _close_all(deployment._phones))
    return deployment


async def _close_all(sessions: list[aiohttp.ClientSession]) -> None:
    for session in sessions:
        await session.close()


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as s:
        yield s


async def show(database_url: str, who: str, tmp_path: Path) -> dict:
    """`webapp admin user show --json WHO`."""
    result = await webapp("admin", "user", "show", "--json", who, env=command_env(database_url), cwd=tmp_path)
    assert result.status == 0, result.err
    return json.loads(result.out)


async def test_qr_login_over_https_through_nginx_to_two_site_processes(
    stack: AsyncExitStack, tmp_path: Path, sim_server: Sim, pooled_database_url: str, pooled_sessionmaker: object
) -> None:
    d = await deploy(stack, tmp_path, sim_server, pooled_database_url, sites=2, TRUSTED_PROXIES="127.0.0.1")
    browser = d.browser()

    authorize = await browser.start("/auth/wechat/start?next=/settings")
    callback = await browser.get(await browser.scan_qr(authorize, user=1))
    me = await browser.me()

    assert callback.status == 302, await callback.text()
    cookies = callback.headers.getall("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert callback.headers["Strict-Transport-Security"].startswith("max-age=")
    assert me is not None and me["wechat"][0]["openid"]
    api = await browser.get("/api/me")
    assert api.headers["Cache-Control"] == "no-store"  # nginx: a response that says nothing is not cached

    recorded = await show(pooled_database_url, f"id:{me['id']}", tmp_path)
    assert recorded["events"][0]["kind"] == "login"
    assert recorded["events"][0]["ip"] == CLIENT_ADDR  # X-Forwarded-For believed, from its trusted end only
    assert SPOOFED not in json.dumps(recorded)

    for _ in range(4):
        assert (await browser.get("/healthz")).status == 200
    await d.barrier()
    upstreams = {m for line in d.nginx.log_lines() for m in re.findall(r"upstream=127\.0\.0\.1:(\d+)", line)}
    assert upstreams == {str(p) for p in d.site_ports}  # both processes answered
    assert not any("code=" in line for line in d.nginx.log_lines())  # no query strings in nginx's log


async def test_without_trusted_proxies_the_site_records_nginx_not_x_forwarded_for(
    stack: AsyncExitStack, tmp_path: Path, sim_server: Sim, pooled_database_url: str, pooled_sessionmaker: object
) -> None:
    d = await deploy(stack, tmp_path, sim_server, pooled_database_url, sites=1)
    browser = d.browser()

    await browser.signup("proxied", "correct horse battery")

    recorded = await show(pooled_database_url, "username:proxied", tmp_path)
    assert recorded["session_list"][0]["ip"] == "127.0.0.1"
    assert {e["ip"] for e in recorded["events"]} == {"127.0.0.1"}


async def test_static_files_tls_redirect_and_request_ids_are_nginx_s(
    stack: AsyncExitStack, tmp_path: Path, sim_server: Sim, pooled_database_url: str, pooled_sessionmaker: object
) -> None:
    d = await deploy(stack, tmp_path, sim_server, pooled_database_url, sites=1, TRUSTED_PROXIES="127.0.0.1")
    base = d.nginx.public_url
    static_file = Path(__file__).resolve().parents[2] / "static" / "css" / "site.css"

    async with d.http.get(f"{base}/static/css/site.css?v=0123abcd") as resp:
        assert resp.status == 200 and await resp.read() == static_file.read_bytes()
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    async with d.http.get(f"{base}/static/css/site.css") as resp:  # no version: checked again on each use
        assert resp.headers["Cache-Control"] == "no-cache"
    gzip = {"Accept-Encoding": "gzip"}
    for path, kind in (("/static/css/site.css?v=1", "text/css"), ("/static/js/site.js?v=1", "javascript"),
                       ("/login", "text/html")):
        async with d.http.get(f"{base}{path}", headers=gzip, auto_decompress=False) as resp:
            raw = await resp.read()
            assert resp.status == 200 and kind in resp.headers["Content-Type"], path
            assert resp.headers.get("Content-Encoding") == "gzip" and raw[:2] == b"\x1f\x8b", path
            assert "Accept-Encoding" in resp.headers.get("Vary", ""), path
    async with d.http.get(f"{base}/login", headers=gzip) as resp:  # public, so kept for the back button
        assert resp.headers["Cache-Control"] == "private, no-cache" and "<form" in await resp.text()
    async with d.http.get(f"{base}/static/../webapp/settings.py") as resp:
        assert resp.status in (400, 404)
    async with d.http.get(f"{base}/healthz", headers={"X-Request-ID": "ops-trace-42"}) as resp:
        assert resp.headers["X-Request-ID"] == "ops-trace-42"
    async with d.http.get(f"{base}/healthz") as resp:
        generated = resp.headers["X-Request-ID"]
    redirect = f"http://127.0.0.1:{d.nginx.http_port}/login?next=/settings"
    async with aiohttp.ClientSession() as plain, plain.get(redirect, headers={"Host": "localhost"}, allow_redirects=False) as resp:
        assert resp.status == 301
        assert resp.headers["Location"] == f"{base}/login?next=/settings"
    await d.barrier()

    lines = d.nginx.log_lines()
    [static_line] = [line for line in lines if "/static/css/site.css " in line and "rid=" in line][:1]
    assert "upstream=- " in static_line  # served by nginx; the site never saw it
    assert any(f"rid={generated} upstream=127.0.0.1:" in line for line in lines)  # the site used nginx's id
    tls12 = ssl.create_default_context(cafile=str(d.nginx.cert))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    for context, expected in ((tls12, "TLSv1.2"), (ssl.create_default_context(cafile=str(d.nginx.cert)), "TLSv1.3")):
        _, writer = await asyncio.open_connection("127.0.0.1", d.nginx.https_port, ssl=context, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object").version() == expected
        writer.close()
        await writer.wait_closed()
