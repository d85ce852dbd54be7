"""wechatpy's own WeChatClient (sync, requests) against the simulator's /cgi-bin APIs, in a worker thread."""

from __future__ import annotations

import asyncio
from typing import Any

from wechatpy import WeChatClient

from tests.wechat_sim.conftest import Sim, control, mp_token
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids


def client_for(sim: Sim) -> WeChatClient:
    """A stock wechatpy client whose two hard-coded api.weixin.qq.com URLs point at the simulator."""
    base = str(sim.client.make_url("/cgi-bin/"))

    class SimClient(WeChatClient):
        API_BASE_URL = base

        def fetch_access_token(self) -> Any:
            return self._fetch_access_token(url=base + "token", params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

    return SimClient(fx.MP_APPID, fx.MP_SECRET, timeout=10)


async def test_wechatpy_creates_a_code_and_reads_a_follower(sim: Sim) -> None:
    client = client_for(sim)
    qr = await asyncio.to_thread(client.qrcode.create, {
        "expire_seconds": 600, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "login_x"}}})
    assert set(qr) == {"ticket", "expire_seconds", "url"}
    await control(sim, "POST", "mp/scan", {"user": 2, "ticket": qr["ticket"], "follow": True})
    info = await asyncio.to_thread(client.user.get, ids.openid_for(fx.MP_APPID, 2))
    assert info["subscribe"] == 1 and info["qr_scene_str"] == "login_x"
    assert info["unionid"] == ids.unionid_for(fx.OPEN_PLATFORM_ID, 2)


async def test_wechatpy_recovers_from_a_foreign_token_refresh(sim: Sim) -> None:
    client = client_for(sim)
    openid = ids.openid_for(fx.MP_APPID, 1)
    assert (await asyncio.to_thread(client.user.get, openid))["subscribe"] == 0
    for _ in range(2):
        await mp_token(sim)  # another server knocks our token out; 40001 after the overlap
    await sim.advance(301)
    assert (await asyncio.to_thread(client.user.get, openid))["subscribe"] == 0
    calls = (await control(sim, "GET", "calls"))[1]
    assert [c["errcode"] for c in calls if c["path"] == "/cgi-bin/user/info"] == [0, 40001, 0]
