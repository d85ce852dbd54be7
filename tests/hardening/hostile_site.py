"""The site under hostile raw requests: its routes, a logged-in browser's cookies, and a sender."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from tests.hardening.conftest import PASSWORD
from tests.hardening.hostile import Known, failure, request, send
from tests.hardening.test_request_properties import routes_of
from tests.wechat.harness import World


@dataclass
class HostileSite:
    """Where to send, what to send it to, and what a real browser of the site holds."""

    host: str
    port: int
    routes: list[tuple[str, str]]
    known: Known

    async def shoot(self, rng: random.Random) -> tuple[bytes, int, str | None]:
        """One hostile request; the request, its status and why its answer failed (None when it did not)."""
        raw = request(rng, self.routes, self.known, f"{self.host}:{self.port}".encode())
        status, answer = await send(self.host, self.port, raw)
        return raw, status, failure(status, answer)


async def hostile_site(world: World) -> HostileSite:
    """A member logged in on the site; their cookies and CSRF token are what requests tamper with."""
    member = world.browser()
    await member.signup("fuzzy", PASSWORD)
    page = await member.get("/settings")
    match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert match
    cookies = {c.key: c.value for c in member.site.session.cookie_jar}
    server = world.site.server
    return HostileSite(str(server.host), int(server.port or 0), routes_of(server.app), Known(cookies, match.group(1)))
