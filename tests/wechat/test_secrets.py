"""Secrets stay secret: tokens encrypted at rest, key rotation, nothing sensitive in logs."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from tests.wechat.harness import World
from webapp.app import create_app
from webapp.crypto import InvalidToken, TokenCipher
from webapp.models import WeChatIdentity
from webapp.wechat_sim import fixture as sim_fixture


async def _stored(world: World) -> WeChatIdentity:
    async with world.sm() as s:
        return (await s.scalars(select(WeChatIdentity))).one()


async def test_tokens_are_not_readable_in_the_database(world: World) -> None:
    await world.browser().qr_login(user=1)
    identity = await _stored(world)
    cipher = TokenCipher(world.settings.token_keys)
    access, refresh = cipher.decrypt(identity.access_token_enc or ""), cipher.decrypt(identity.refresh_token_enc or "")
    async with world.sm() as s:
        row_text = str((await s.execute(text("SELECT row_to_json(w)::text FROM wechat_identities w"))).scalar_one())
    assert access and refresh
    assert access not in row_text and refresh not in row_text
    async with world.sim.http.get(
        f"{world.sim.url}/sns/auth", params={"access_token": access, "openid": identity.openid}
    ) as resp:  # the decrypted value is the real token WeChat issued
        assert (await resp.json(content_type=None))["errcode"] == 0


async def test_key_rotation_old_keys_decrypt_new_key_encrypts(
    aiohttp_client, world: World, sessionmaker, clock  # type: ignore[no-untyped-def]
) -> None:
    await world.browser().qr_login(user=1)
    old_row = await _stored(world)
    new_key = Fernet.generate_key().decode()
    rotated = world.settings.with_(token_keys=(new_key, *world.settings.token_keys))
    site = await aiohttp_client(create_app(rotated, sessionmaker=sessionmaker, clock=clock))
    w2 = World(site, world.sim, rotated, sessionmaker, clock)
    try:
        browser = w2.browser()
        await browser.qr_login(user=1)  # same person: tokens rewritten with the new first key
        assert (await browser.me())["wechat"][0]["status"] == "active"  # type: ignore[index]
    finally:
        await w2.close()
    new_row = await _stored(world)
    only_new, only_old = TokenCipher([new_key]), TokenCipher(world.settings.token_keys)
    assert TokenCipher(rotated.token_keys).decrypt(old_row.access_token_enc or "")  # old ciphertext still readable
    assert only_new.decrypt(new_row.access_token_enc or "")
    with pytest.raises(InvalidToken):
        only_old.decrypt(new_row.access_token_enc or "")


async def test_nothing_secret_reaches_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    browser = world.browser()
    authorize = await browser.start("/auth/wechat/start")
    callback = await browser.scan_qr(authorize, 1)
    await world.sim.fault("/sns/userinfo", errcode=-1, times=1)  # an error path logs too
    await browser.get(callback)
    code = callback.split("code=")[1].split("&")[0]
    identity = await _stored(world)
    cipher = TokenCipher(world.settings.token_keys)
    secrets = [
        sim_fixture.WEBSITE_SECRET, sim_fixture.MP_SECRET, code,
        cipher.decrypt(identity.access_token_enc or ""), cipher.decrypt(identity.refresh_token_enc or ""),
        world.settings.secret_key, *world.settings.token_keys,
    ]
    # aiohttp's own access log (tests only) prints raw URLs; the site runs with MaskedAccessLogger instead.
    site_logs = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records if r.name != "aiohttp.access")
    for secret in secrets:
        assert secret not in site_logs
    assert world.sleeps.delays == [0.5]  # the busy userinfo was retried once, without a real sleep


def test_access_log_masks_codes_and_states() -> None:
    from aiohttp.test_utils import make_mocked_request

    from webapp.accesslog import masked_target

    request = make_mocked_request("GET", "/auth/wechat/callback?code=SECRETCODE&state=S1&next=/x")
    assert masked_target(request) == "/auth/wechat/callback?code=***&state=***&next=/x"
