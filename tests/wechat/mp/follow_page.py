"""What the login page's follow-login script does, over HTTP: ask for a QR, long-poll, claim."""

from __future__ import annotations

from typing import Any

from tests.wechat.harness import Browser, World
from webapp.csrf import CSRF_HEADER


class FollowPage:
    """One browser's login page with the follow-login block."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.scene: str | None = None
        self.csrf = ""
        self.next_path = "/"

    async def open(self, next_path: str = "/settings") -> tuple[int, dict[str, Any]]:
        """Load /login, then ask for a QR code as the script does after load."""
        self.csrf = await self.browser.csrf(f"/login?next={next_path}")
        self.next_path = next_path
        status, data = await self._post("/auth/wechat/follow/qr", {"next": next_path})
        self.scene = data.get("scene")
        return status, data

    async def wait(self, scene: str | None = None) -> tuple[int, dict[str, Any]]:
        """One long poll (returns at once unless the scene is still pending)."""
        resp = await self.browser.site.get(
            "/auth/wechat/follow/wait",
            params={"scene": self.scene if scene is None else scene},
            headers=self.browser.headers,
        )
        return resp.status, await resp.json()

    async def claim(self, scene: str | None = None) -> tuple[int, dict[str, Any]]:
        """Log in with the scanned scene, as the script does after "scanned"."""
        scene = (self.scene if scene is None else scene) or ""
        return await self._post("/auth/wechat/follow/claim", {"scene": scene, "next": self.next_path})

    async def _post(self, path: str, data: dict[str, str]) -> tuple[int, dict[str, Any]]:
        headers = {**self.browser.headers, CSRF_HEADER: self.csrf}
        resp = await self.browser.site.post(path, data=data, headers=headers, allow_redirects=False)
        return resp.status, await resp.json()


async def ticket_of(world: World, scene: str) -> str:
    """The ticket of the simulator's live QR code for `scene` (what the phone scans)."""
    [qr] = [q for q in await world.sim.control("GET", "mp/qrcodes") if q["scene"] == scene]
    return str(qr["ticket"])
