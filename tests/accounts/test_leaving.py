"""Leaving: delete the account (recent login, the typed phrase) with nothing left that names its owner; export."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from tests.wechat.harness import Browser, World
from webapp.avatars.copier import copy_due_avatars
from webapp.avatars.fetch import AvatarFetcher
from webapp.db import Base
from webapp.keys import database_key
from webapp.models import LoginFailure, SecurityEvent, User, WeChatIdentity
from webapp.settings import Settings

PASSWORD = "correct horse battery"
ADDRESS = "203.0.113.77"  # the person's address, as our trusted proxy reports it
STALE = {"minutes": 11}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Behind a trusted proxy, so each test person has an address of their own."""
    return settings.with_(trusted_proxies=frozenset({"127.0.0.1", "::1"}))


def person(world: World, **kw: bool) -> Browser:
    browser = world.browser(**kw)
    browser.headers["X-Forwarded-For"] = ADDRESS
    return browser


async def rows_mentioning(world: World, *needles: str) -> dict[str, list[str]]:
    """Every row of every table whose text contains one of `needles`."""
    found: dict[str, list[str]] = {}
    async with world.sm() as s:
        for table in Base.metadata.sorted_tables:
            for (row,) in (await s.execute(text(f'SELECT t::text FROM "{table.name}" t'))).all():
                if any(needle in row for needle in needles):
                    found.setdefault(table.name, []).append(row[:200])
    return found


async def copy_avatars(world: World) -> None:
    """The worker's avatar step, against the simulator."""
    await copy_due_avatars(world.site.app[database_key], AvatarFetcher(world.sim.http, api_base=world.sim.url),
                           clock=world.clock)


async def delete(browser: Browser, phrase: str = "delete my account") -> object:
    return await browser.post("/settings/account/delete", {"confirmation": phrase}, csrf_from="/settings/account/delete")


async def test_deleting_needs_a_recent_login_first(world: World) -> None:
    browser = person(world)
    await browser.signup("alice", PASSWORD)
    world.clock.advance(**STALE)
    page = await browser.get("/settings/account/delete")
    assert (page.status, page.headers["Location"]) == (302, "/settings/confirm?next=/settings/account/delete")
    refused = await browser.post("/settings/account/delete", {"confirmation": "delete my account"})
    assert refused.headers["Location"] == "/settings/confirm?next=/settings/account/delete"
    assert (await browser.me()) is not None
    confirmed = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings/account/delete"})
    assert confirmed.headers["Location"] == "/settings/account/delete"
    assert (await browser.get("/settings/account/delete")).status == 200


@pytest.mark.parametrize("typed", ["", "delete", "DELETE MY ACCOUNT please", "alice"])
async def test_the_label_states_the_exact_text_and_anything_else_deletes_nothing(world: World, typed: str) -> None:
    browser = person(world)
    await browser.signup("alice", PASSWORD)
    form = await (await browser.get("/settings/account/delete")).text()
    assert '<label for="field-confirmation">To confirm, type “delete my account”</label>' in form
    response = await delete(browser, typed)
    assert response.status == 400
    assert "Type “delete my account” exactly to confirm." in await response.text()
    assert (await browser.me()) is not None


async def test_in_chinese_the_phrase_is_chinese_and_either_language_is_accepted(world: World) -> None:
    chinese = person(world)
    chinese.headers["Accept-Language"] = "zh-CN"
    await chinese.signup("lihua", PASSWORD)
    form = await (await chinese.get("/settings/account/delete")).text()
    assert "请输入“删除我的账号”以确认" in form
    assert (await delete(chinese, " 删除我的账号 ")).headers["Location"] == "/"
    english = person(world)
    await english.signup("alice", PASSWORD)
    assert (await delete(english, "Delete  My Account")).headers["Location"] == "/"
    assert await rows_mentioning(world, "lihua", "alice") == {}


async def test_deleting_a_password_account_with_wechat_leaves_nothing_that_names_the_person(world: World) -> None:
    browser = person(world)
    await browser.signup("alice", PASSWORD)
    authorize = await browser.start("POST /settings/wechat/bind")
    await browser.get(await browser.scan_qr(authorize, 2))
    await copy_avatars(world)
    me = await browser.me()
    assert me is not None and me["avatar"] and len(me["wechat"]) == 1
    identity = me["wechat"][0]
    stranger = person(world)  # failed guesses at her username are counted under it
    await stranger.post("/login", {"username": "alice", "password": "wrong guess"}, csrf_from="/login")
    needles = ("alice", identity["openid"], identity["unionid"], identity["nickname"], identity["avatar_url"], ADDRESS)
    assert set(await rows_mentioning(world, *needles)) >= {"users", "wechat_identities", "security_events"}

    response = await delete(browser)

    assert (response.status, response.headers["Location"]) == (302, "/")
    home = await (await browser.follow("/")).text()
    assert "Your account and everything linked to it have been deleted." in home
    assert await browser.me() is None
    left = await rows_mentioning(world, *needles)
    # Only what counts requests per network address (rate limits, failed logins per address) may hold it.
    assert set(left) <= {"rate_limits", "login_failures"}, left
    async with world.sm() as s:
        assert (await s.scalars(select(LoginFailure.scope))).all() == ["ip"]
        [audit] = (await s.scalars(select(SecurityEvent))).all()
    assert (audit.kind, audit.user_id, audit.client, audit.ip, audit.method) == ("account_deleted", None, "", "", "")
    assert (await browser.post("/login", {"username": "alice", "password": PASSWORD}, csrf_from="/login")).status == 400


async def test_a_wechat_only_account_confirms_with_its_wechat_and_deletes_itself(world: World) -> None:
    browser = person(world)
    await browser.qr_login(user=4)
    await copy_avatars(world)
    me = await browser.me()
    assert me is not None and me["has_password"] is False and me["avatar"]
    world.clock.advance(**STALE)
    assert (await browser.get("/settings/account/delete")).headers["Location"].startswith("/settings/confirm")
    confirm = await browser.post("/settings/confirm/wechat", {"next": "/settings/account/delete"},
                                 csrf_from="/settings/confirm")
    back = await browser.get(await browser.scan_qr(confirm.headers["Location"], 4))
    assert back.headers["Location"] == "/settings/account/delete"

    assert (await delete(browser)).headers["Location"] == "/"

    identity = me["wechat"][0]
    assert await rows_mentioning(world, identity["openid"], identity["unionid"], identity["nickname"]) == {}
    async with world.sm() as s:
        assert (await s.scalars(select(User))).all() == [] and (await s.scalars(select(WeChatIdentity))).all() == []
    again = world.browser()  # the same WeChat later is a newcomer
    await again.qr_login(user=4)
    assert (await again.me())["id"] != me["id"]  # type: ignore[index]


async def test_the_export_is_a_json_download_of_profile_identities_and_activity_without_tokens(world: World) -> None:
    browser = person(world)
    await browser.signup("alice", PASSWORD)
    await browser.get(await browser.scan_qr(await browser.start("POST /settings/wechat/bind"), 1))
    response = await browser.get("/settings/export")
    assert response.status == 200 and response.content_type == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.text()
    data = json.loads(body)
    me = await browser.me()
    assert data["profile"]["username"] == "alice" and data["profile"]["id"] == me["id"]  # type: ignore[index]
    [identity] = data["wechat"]
    assert identity["openid"] == me["wechat"][0]["openid"]  # type: ignore[index]
    assert [e["kind"] for e in data["security_activity"]] == ["signup", "bind"]
    assert data["security_activity"][0]["ip"] == ADDRESS
    assert "token" not in body.replace("refresh_expires_at", "")
    async with world.sm() as s:
        stored = await s.scalar(select(WeChatIdentity))
    assert stored is not None and stored.access_token_enc not in body and stored.refresh_token_enc not in body


async def test_the_export_needs_a_login(world: World) -> None:
    response = await world.browser().get("/settings/export")
    assert (response.status, response.headers["Location"]) == (302, "/login?next=/settings/export&why=login_required")
