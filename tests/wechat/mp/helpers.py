"""Driving the official account end to end: point the simulator's pushes at a site, log in inside WeChat."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.wechat.harness import Browser, World
from tests.wechat.mp.pushes import MP_AES_KEY, MP_TOKEN, Mode
from webapp.keys import cipher_key, clock_key, database_key, settings_key, wechat_client_key
from webapp.models import SecurityEvent, WeChatIdentity
from webapp.wechat.refresher import RefreshReport, configured_apps
from webapp.wechat.worker import maintenance_pass, policy_of
from webapp.wechat_sim import fixture as sim_fixture


async def push_to(world: World, site: TestClient | None = None, mode: Mode = "safe") -> None:
    """Register `site`'s /wechat/mp/events (default: the world's site) as the official account's server URL."""
    url = str((site or world.site).make_url("/wechat/mp/events"))
    config = {"url": url, "token": MP_TOKEN, "aes_key": MP_AES_KEY if mode != "plaintext" else "", "mode": mode}
    await world.sim.control("POST", "push-config", {**config, "verify": True})


async def advance(world: World, seconds: float) -> None:
    """Move the site's clock and the simulator's together (pushes are checked against the site's)."""
    world.clock.advance(seconds=seconds)
    await world.sim.control("POST", "clock", {"advance_s": seconds})


async def phone_action(world: World, action: str, **body: Any) -> dict[str, Any]:
    """A user's action on the simulator's phone (scan, follow, revoke, …); its delivery must have succeeded."""
    answer = await world.sim.control("POST", f"mp/{action}", body)
    delivery = answer["delivery"]
    assert delivery is not None and delivery["status"] == "delivered", delivery
    return answer


async def oa_login(world: World, user: int) -> Browser:
    """Log `user` in inside WeChat: snsapi_base, then the one step-up to snsapi_userinfo (tokens and profile)."""
    phone = world.browser(wechat=True)
    await phone.wechat_login(user=user)
    authorize = await phone.start("/auth/wechat/start?scope=userinfo&next=/settings")
    resp = await phone.get(await phone.authorize_in_wechat(authorize, user))
    assert resp.status == 302, await resp.text()
    return phone


async def oa_identity(world: World, user: int) -> WeChatIdentity:
    """The stored official-account identity of a simulator user."""
    openid = (await world.sim.user(user))["openids"][sim_fixture.MP_APPID]
    async with world.sm() as s:
        identity = await s.scalar(
            select(WeChatIdentity).where(WeChatIdentity.appid == sim_fixture.MP_APPID, WeChatIdentity.openid == openid)
        )
    assert identity is not None
    return identity


async def events_of(world: World, user_id: int, kind: str) -> list[SecurityEvent]:
    """The user's security events of one kind."""
    async with world.sm() as s:
        rows = await s.scalars(
            select(SecurityEvent).where(SecurityEvent.user_id == user_id, SecurityEvent.kind == kind)
        )
        return list(rows)


async def worker_pass(site: TestClient) -> RefreshReport:
    """One pass of the core's maintenance worker, with the site's own database, client, keys and clock."""
    app = site.server.app
    return await maintenance_pass(
        app[database_key],
        app[wechat_client_key],
        app[cipher_key],
        configured_apps(app[settings_key]),
        clock=app[clock_key],
        policy=policy_of(app[settings_key]),
    )
