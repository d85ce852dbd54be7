"""Mid-way through a key rotation: a stored interface token this process cannot decrypt fails fast, says so once,
and works again as soon as the process can read the stored token."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from tests.wechat.harness import World
from tests.wechat.mp.follow_page import FollowPage
from webapp.crypto import TokenCipher
from webapp.keys import cipher_key
from webapp.models import AppToken
from webapp.wechat_sim import fixture as sim_fixture


async def store_token(world: World, token_enc: str) -> None:
    now = world.clock()
    async with world.sm.begin() as s:
        values = {"token_enc": token_enc, "expires_at": now + timedelta(hours=1), "lease_until": None, "updated_at": now}
        await s.execute(insert(AppToken).values(appid=sim_fixture.MP_APPID, **values).on_conflict_do_nothing())
        await s.execute(update(AppToken).where(AppToken.appid == sim_fixture.MP_APPID).values(**values))


async def test_a_token_under_a_key_this_process_lacks_fails_fast_with_one_log_line_and_recovers(
    mp_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    newer_key = TokenCipher([Fernet.generate_key().decode()])  # what `rotate-keys` on another host wrote with
    await store_token(mp_world, newer_key.encrypt("token-of-the-rotated-key"))
    creates = len(await mp_world.sim.calls("/cgi-bin/qrcode/create"))
    page = FollowPage(mp_world.browser())
    page.browser.headers["Accept-Language"] = "en"

    with caplog.at_level(logging.WARNING, logger="webapp.wechat.mp"):
        answers = [await page.open() for _ in range(5)]

    assert {(status, data["status"]) for status, data in answers} == {(503, "not_here")}
    assert "unavailable on this site right now" in answers[0][1]["message"]
    said = [r for r in caplog.records if "does not decrypt" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR  # once, however many requests
    assert len(await mp_world.sim.calls("/cgi-bin/qrcode/create")) == creates  # nothing reached WeChat
    assert len(await mp_world.sim.calls("/cgi-bin/stable_token")) == 0  # and no token was fetched over it

    # The key arrives (here: the stored token is one this process can read): QR codes work again. WeChat
    # refuses the made-up token once; the store fetches a real one and the QR is made.
    await store_token(mp_world, mp_world.site.app[cipher_key].encrypt("token-of-the-rotated-key"))
    status, data = await page.open()
    assert (status, data["status"]) == (200, "pending")
