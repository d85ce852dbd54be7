"""Verified phone numbers: E.164 from WeChat's answer, one account per number, shown, exported, removed, found."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from tests.wechat.harness import World
from tests.wechat.mini.conftest import Answer, Mini
from webapp.admin import users as admin
from webapp.admin.report import report_json, report_text
from webapp.models import AppToken, SecurityEvent, User
from webapp.wechat_sim import fixture as fx

PHONE = "/api/wechat/mini/phone"


async def add_phone(mini: Mini, token: str, user: int) -> Answer:
    return await mini.call(PHONE, {"code": await mini.phone_code(user)}, token=token)


async def test_a_mainland_number_is_stored_in_e164_and_shown_by_api_me(mini: Mini, world: World) -> None:
    body = await mini.login(1)
    answer = await add_phone(mini, body["token"], 1)
    assert (answer.status, answer.body) == (200, {"phone": "+8613800138001"})
    assert (await mini.me(body["token"])).body["phone"] == "+8613800138001"
    async with world.sm() as s:
        assert await s.scalar(select(User.phone).where(User.id == body["user"]["id"])) == "+8613800138001"
        kinds = (await s.scalars(select(SecurityEvent.kind).where(SecurityEvent.user_id == body["user"]["id"]))).all()
    assert "phone_added" in kinds
    calls = await world.sim.calls("/wxa/business/getuserphonenumber")
    assert [c["errcode"] for c in calls] == [0]


async def test_a_foreign_number_keeps_its_country_code(mini: Mini) -> None:
    token = (await mini.login(3))["token"]
    assert (await add_phone(mini, token, 3)).body == {"phone": "+85261234567"}


async def test_a_number_belongs_to_one_account_and_the_second_gets_409_with_nothing_changed(mini: Mini, world: World) -> None:
    first, second = await mini.login(2), await mini.login(4)  # two WeChat users presenting one number
    assert (await add_phone(mini, first["token"], 2)).status == 200
    refused = await add_phone(mini, second["token"], 4)
    assert (refused.status, refused.body) == (409, {"error": "phone_in_use"})
    assert (await mini.me(second["token"])).body["phone"] is None
    assert (await mini.me(first["token"])).body["phone"] == "+8613900139002"
    again = await add_phone(mini, first["token"], 2)  # the owner adding it again is fine
    assert (again.status, again.body) == (200, {"phone": "+8613900139002"})


async def test_two_requests_racing_for_one_number_give_it_to_one_account(pooled_world: World) -> None:
    mini = Mini(pooled_world)
    first, second = await mini.login(2), await mini.login(4)
    codes = [await mini.phone_code(2), await mini.phone_code(4)]
    answers = await asyncio.gather(*(mini.call(PHONE, {"code": code}, token=body["token"])
                                     for code, body in zip(codes, (first, second), strict=True)))
    assert sorted(a.status for a in answers) == [200, 409]
    async with pooled_world.sm() as s:
        owners = (await s.scalars(select(User.id).where(User.phone == "+8613900139002"))).all()
    winner = first if answers[0].status == 200 else second
    assert owners == [winner["user"]["id"]]


async def test_settings_show_it_and_remove_it_and_the_export_has_it(mini: Mini, world: World) -> None:
    body = await mini.login(1)
    await add_phone(mini, body["token"], 1)
    browser = world.browser()
    await browser.qr_login(user=1)  # the same account on the website
    page = await (await browser.get("/settings")).text()
    assert 'id="phone-number">+8613800138001<' in page and "Logs in from the mini program" in page
    export = await browser.get("/settings/export")
    assert json.loads(await export.read())["profile"]["phone"] == "+8613800138001"
    resp = await browser.post("/settings/phone/remove", {})
    assert resp.status == 302 and resp.headers["Location"] == "/settings#phone"
    assert 'id="phone-number"' not in await (await browser.get("/settings")).text()
    assert (await mini.me(body["token"])).body["phone"] is None
    forged = await browser.site.post("/settings/phone/remove", data={}, headers=browser.headers, allow_redirects=False)
    assert forged.status == 403  # a form without its CSRF token


async def test_the_administrator_finds_the_account_by_phone_and_deletion_frees_the_number(mini: Mini, world: World) -> None:
    body = await mini.login(2)
    await add_phone(mini, body["token"], 2)
    report = await admin.user_report(world.sm, "phone:+8613900139002", now=world.clock())
    assert report.user.id == body["user"]["id"]
    assert report_json(report)["phone"] == "+8613900139002" and "phone: +8613900139002" in report_text(report)
    browser = world.browser()
    await browser.qr_login(user=2)
    await browser.post("/settings/account/delete", {"confirmation": "delete my account"}, csrf_from="/settings/account/delete")
    async with world.sm() as s:
        assert await s.scalar(select(User.id).where(User.phone == "+8613900139002")) is None
    other = await mini.login(4)  # the number is free again
    assert (await add_phone(mini, other["token"], 4)).body == {"phone": "+8613900139002"}


async def test_the_interface_token_is_the_mini_programs_stable_token_renewed_once_when_refused(mini: Mini, world: World) -> None:
    token = (await mini.login(1))["token"]
    assert (await add_phone(mini, token, 1)).status == 200
    async with world.sm() as s:
        assert (await s.get(AppToken, fx.MINI_APPID)) is not None
    for errcode in (40001, 42001):
        await world.sim.fault("/wxa/business/getuserphonenumber", errcode=errcode)
        answer = await add_phone(mini, token, 1)
        assert answer.status == 200, (errcode, answer.body)
    calls = await world.sim.calls("/wxa/business/getuserphonenumber")
    assert [c["errcode"] for c in calls] == [0, 40001, 0, 42001, 0]
    stable = await world.sim.calls("/cgi-bin/stable_token")
    assert all(c["query"].get("secret") in (None, "***") for c in stable) and len(stable) >= 2
