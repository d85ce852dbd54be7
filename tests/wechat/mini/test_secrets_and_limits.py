"""The session_key stays secret (rotate-keys covers it, logs never show it); limits key on the person and the token."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.wechat.harness import World
from tests.wechat.mini.conftest import Mini
from webapp.admin.rotation import rotate_keys
from webapp.crypto import TokenCipher
from webapp.models import WeChatIdentity
from webapp.wechat.mini import store, views
from webapp.wechat_sim import fixture as fx


async def test_rotate_keys_re_encrypts_session_keys_under_the_first_key(mini: Mini, world: World) -> None:
    await mini.login(1)
    await mini.login(2)
    expected = {world.sim.state.mini.session_keys[(fx.MINI_APPID, u)] for u in (1, 2)}
    old = world.settings.token_keys
    new = Fernet.generate_key().decode()
    reports = await rotate_keys(world.sm, [new, *old])
    report = next(r for r in reports if r.label == "wechat_identities.session_key_enc")
    assert (report.rotated, report.undecryptable) == (2, 0)
    async with world.sm() as s:
        stored = (await s.scalars(select(WeChatIdentity.session_key_enc)
                                  .where(WeChatIdentity.session_key_enc.is_not(None)))).all()
    assert {TokenCipher([new]).decrypt(v) for v in stored} == expected


async def test_no_session_key_code_or_token_reaches_the_logs(mini: Mini, world: World,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code = await mini.login_code(1)
    body = (await mini.call("/api/wechat/mini/login", {"code": code})).body
    phone_code = await mini.phone_code(1)
    await mini.call("/api/wechat/mini/phone", {"code": phone_code}, token=body["token"])
    await world.sim.fault("/sns/jscode2session", errcode=40029)
    failed = await mini.login_code(1)
    await mini.call("/api/wechat/mini/login", {"code": failed})
    secrets = [code, phone_code, failed, body["token"], fx.MINI_SECRET,
               world.sim.state.mini.session_keys[(fx.MINI_APPID, 1)]]
    # aiohttp's own access log (tests only) prints raw URLs; the site and the simulator run with masking ones.
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records if r.name != "aiohttp.access")
    assert "jscode2session" in logged and all(s not in logged for s in secrets)


async def test_logins_are_limited_per_wechat_user_not_per_address(mini: Mini, world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "LOGINS_PER_WINDOW", 2)
    tokens = [(await mini.login(1))["token"] for _ in range(2)]
    refused = await mini.call("/api/wechat/mini/login", {"code": await mini.login_code(1)})
    assert (refused.status, refused.body) == (429, {"error": "too_many_requests"})
    assert len(await mini.world.sim.calls("/sns/jscode2session")) == 3
    assert (await mini.login(2))["token"]  # another person from the same address is not limited
    assert [(await mini.me(t)).status for t in tokens] == [200, 200]  # the earlier tokens live on
    world.clock.advance(seconds=store.LOGIN_WINDOW.total_seconds())
    assert (await mini.login(1))["token"]


async def test_phone_requests_are_limited_per_token(mini: Mini, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "PHONES_PER_TOKEN", 1)
    first, second = (await mini.login(1))["token"], (await mini.login(1))["token"]
    assert (await mini.call("/api/wechat/mini/phone", {"code": await mini.phone_code(1)}, token=first)).status == 200
    refused = await mini.call("/api/wechat/mini/phone", {"code": await mini.phone_code(1)}, token=first)
    assert (refused.status, refused.body) == (429, {"error": "too_many_requests"})
    other = await mini.call("/api/wechat/mini/phone", {"code": await mini.phone_code(1)}, token=second)
    assert other.status == 200
