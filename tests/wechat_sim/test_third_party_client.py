"""A plain third-party-style client (GET with params, bytes parsed as UTF-8) works unchanged."""

from __future__ import annotations

import json

import aiohttp

from tests.wechat_sim.conftest import Sim
from webapp.wechat_sim import fixture as fx


async def test_qr_login_like_a_generic_client(sim: Sim) -> None:
    base = str(sim.client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        xml = await (await http.get(f"{base}/connect/qrconnect", params={
            "appid": fx.WEBSITE_APPID, "redirect_uri": "http://127.0.0.1:8080/cb", "response_type": "code",
            "scope": "snsapi_login", "state": "x", "f": "xml"})).text()
        uuid = xml.split("<uuid><![CDATA[")[1].split("]]>")[0]
        await http.post(f"{base}/_sim/api/qr/{uuid}", json={"user": 4, "action": "scan"})
        confirm = await (await http.post(f"{base}/_sim/api/qr/{uuid}",
                                         json={"user": 4, "action": "confirm"})).json()
        async with http.get(f"{base}/sns/oauth2/access_token", params={
                "appid": fx.WEBSITE_APPID, "secret": fx.WEBSITE_SECRET, "code": confirm["code"],
                "grant_type": "authorization_code"}) as resp:
            token = json.loads((await resp.read()).decode("utf-8"))
        async with http.get(f"{base}/sns/userinfo", params={
                "access_token": token["access_token"], "openid": token["openid"], "lang": "zh_CN"}) as resp:
            profile = json.loads(await resp.read())
    assert confirm["redirect_url"].startswith("http://127.0.0.1:8080/cb?code=")
    assert profile["nickname"] == "🐼熊猫" and profile["unionid"] == token["unionid"]
