"""SIGTERM to `webapp serve` while a request is in flight: the request finishes, its response arrives whole, exit 0.

The request held in flight is a WeChat callback whose code exchange the simulator delays (a `delay_s`
fault). The test knows the exchange has started when the simulator has taken the fault (it leaves the
pending list the moment the request arrives), and only then sends SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from tests.hardening.conftest import until
from tests.observability.helpers import Served, serve_env, start_serve
from tests.test_serve_workers import children_of
from tests.wechat.harness import Sim, local_path
from webapp.models import User, WebSession
from webapp.wechat_sim import fixture as sim_fixture

DELAY_S = 3


def site_env(database_url: str, sim: Sim) -> dict[str, str]:
    return serve_env(
        database_url,
        WECHAT_WEB_APPID=sim_fixture.WEBSITE_APPID, WECHAT_WEB_SECRET=sim_fixture.WEBSITE_SECRET,
        WECHAT_OPEN_BASE=sim.url, WECHAT_API_BASE=sim.url,
        WECHAT_JS_URL=f"{sim.url}/connect/zh_CN/htmledition/js/wxLogin.js",
    )


async def scanned_callback(http: aiohttp.ClientSession, site: str, sim: Sim, user: int) -> str:
    """Start a QR login on the site, scan and confirm it as `user`: the callback path WeChat sends back."""
    async with http.get(f"{site}/auth/wechat/start?next=/settings", allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        qr_page = resp.headers["Location"]
    async with http.get(qr_page.split("#")[0] + "&f=xml") as resp:
        uuid = re.search(r"<uuid><!\[CDATA\[([^\]]+)\]\]></uuid>", await resp.text()).group(1)  # type: ignore[union-attr]
    await sim.control("POST", f"qr/{uuid}", {"user": user, "action": "scan"})
    confirmed = await sim.control("POST", f"qr/{uuid}", {"user": user, "action": "confirm"})
    return local_path(confirmed["redirect_url"])


async def to_the_supervisor(served: Served) -> None:
    served.proc.send_signal(signal.SIGTERM)


async def to_every_process(served: Served) -> None:
    """What systemd does with the shipped unit (default KillMode=control-group): every process of the unit.

    The site processes get theirs first and are seen shutting down (their port refuses new connections)
    before the supervisor gets its own, so its forwarded SIGTERM is a second, separate one for each of them
    (sent at once, two signals may merge into one pending signal and hide the problem).
    """
    for pid in children_of(served.proc.pid):
        os.kill(pid, signal.SIGTERM)

    async def not_listening() -> bool:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        except OSError:
            return True
        writer.close()
        await writer.wait_closed()
        return False

    await until(not_listening, "the site processes to stop listening")
    served.proc.send_signal(signal.SIGTERM)


@pytest.mark.parametrize(
    ("workers", "sigterm"),
    [
        (1, to_the_supervisor),
        (2, to_the_supervisor),
        pytest.param(2, to_every_process, id="2-every-process"),
    ],
)
async def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(
    pooled_database_url: str, pooled_sessionmaker: Any, sim_server: Sim, tmp_path: Path, workers: int,
    sigterm: Callable[[Served], Awaitable[None]],
) -> None:
    args = ("--workers", str(workers)) if workers > 1 else ()
    served = await start_serve(site_env(pooled_database_url, sim_server), tmp_path, *args)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            callback = await scanned_callback(http, served.url, sim_server, user=workers)
            await sim_server.fault("/sns/oauth2/access_token", delay_s=DELAY_S)
            in_flight = asyncio.create_task(http.get(f"{served.url}{callback}", allow_redirects=False))

            async def exchange_started() -> bool:
                return await sim_server.control("GET", "faults") == []

            await until(exchange_started, "the code exchange to reach the simulator")
            assert not in_flight.done()
            await sigterm(served)

            resp = await asyncio.wait_for(in_flight, timeout=30)
            body = await resp.read()
            assert (resp.status, resp.headers["Location"]) == (302, "/auth/wechat/continue"), body
            assert len(body) == int(resp.headers["Content-Length"])
            assert "webapp_session" in resp.cookies
        # One SIGTERM only (a second one during the shutdown means "hurry": aiohttp then exits 1 at once).
        _out, err = await asyncio.wait_for(served.proc.communicate(), timeout=30)
    finally:
        lines, _stdout = await served.stop()  # only signals a process still running (a failed test)
    assert served.proc.returncode == 0, "\n".join(lines + err.decode().splitlines())[-3000:]
    async with pooled_sessionmaker() as s:  # the login really happened before the process went away
        assert await s.scalar(select(func.count()).select_from(User)) == 1
        assert await s.scalar(select(func.count()).select_from(WebSession)) == 1
