"""With PRIVACY_URL set, a first WeChat login records the consent its login page asked for; English QR pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.wechat.harness import World, _world, query_of
from webapp.models import User

PRIVACY = "https://www.example.com/privacy"


@pytest.fixture
async def world_with_policy(aiohttp_client, wechat_settings, sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    async for w in _world(aiohttp_client, wechat_settings.with_(privacy_url=PRIVACY), sessionmaker, clock, sim_server):
        yield w


async def consents(world: World) -> list[tuple[Any, Any]]:
    async with world.sm() as s:
        return [tuple(r) for r in (await s.execute(select(User.privacy_consent_at, User.privacy_consent_url))).all()]


@pytest.mark.parametrize("in_wechat", [False, True], ids=["qr", "in_wechat"])
async def test_a_first_wechat_login_records_when_and_which_policy(world_with_policy: World, in_wechat: bool) -> None:
    world = world_with_policy
    browser = world.browser(wechat=in_wechat)
    if in_wechat:
        authorize = await browser.start("/auth/wechat/start?scope=userinfo")
        await browser.get(await browser.authorize_in_wechat(authorize, 1))
    else:
        await browser.qr_login(user=1)
    assert await consents(world) == [(world.clock(), PRIVACY)]
    export = await (await browser.get("/settings/export")).json()
    assert export["profile"]["privacy_consent"]["policy_url"] == PRIVACY


async def test_an_english_visitor_gets_wechats_qr_page_in_english(world_with_policy: World) -> None:
    browser = world_with_policy.browser()
    browser.headers["Accept-Language"] = "en"
    assert query_of(await browser.start("/auth/wechat/start"))["lang"] == "en"
    chinese = world_with_policy.browser()
    chinese.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    assert query_of(await chinese.start("/auth/wechat/start"))["lang"] == "cn"
