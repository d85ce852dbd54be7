"""Operational promises: WeChat's 5 s budget, the dedup memory's purge, failures at WeChat, no secrets in logs."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.wechat.harness import World, count
from tests.wechat.mp.conftest import PusherFor
from tests.wechat.mp.follow_page import FollowPage
from tests.wechat.mp.helpers import oa_identity, oa_login, phone_action, push_to
from tests.wechat.mp.pushes import MP_AES_KEY, MP_TOKEN, PUSH_ACCOUNT, event_xml, reply_content
from webapp.app import create_app
from webapp.keys import cipher_key
from webapp.models import AppToken, MpMessage, User
from webapp.wechat.mp import dedup
from webapp.wechat.mp.api import USER_INFO_PATH
from webapp.wechat.mp.notify import Notifier
from webapp.wechat.mp.runtime import mp_key
from webapp.wechat.mp.scenes import wake_key
from webapp.wechat_sim import fixture as sim_fixture


async def test_work_past_the_budget_finishes_after_the_answer(mp_world: World, pusher_for: PusherFor) -> None:
    await oa_login(mp_world, user=2)
    openid = (await oa_identity(mp_world, 2)).openid
    runtime = mp_world.site.server.app[mp_key]
    runtime.budget_s = 0  # answer at once, whatever is still running
    pusher = pusher_for(mp_world, "safe")
    revoke = event_xml(
        PUSH_ACCOUNT, "user_authorization_revoke", pusher.timestamp, OpenID=openid, AppID=sim_fixture.MP_APPID
    )
    assert await pusher.post(revoke) == (200, "success")
    await runtime.drain()  # what shutdown does
    assert not runtime.tasks
    assert (await oa_identity(mp_world, 2)).status == "revoked"


async def test_message_keys_older_than_the_replay_window_are_purged(mp_world: World, pusher_for: PusherFor) -> None:
    pusher = pusher_for(mp_world, "safe")
    assert await pusher.post(event_xml("oA000000000000000000000000001", "subscribe", pusher.timestamp, EventKey=""))
    assert await count(mp_world.sm, MpMessage) == 2
    assert await dedup.purge(mp_world.sm, now=mp_world.clock() + timedelta(minutes=9)) == 0
    assert await dedup.purge(mp_world.sm, now=mp_world.clock() + timedelta(minutes=11)) == 2


async def test_the_endpoint_purges_old_keys_as_it_goes(mp_world: World, pusher_for: PusherFor) -> None:
    pusher = pusher_for(mp_world, "safe")
    await pusher.post(event_xml("oA000000000000000000000000001", "subscribe", pusher.timestamp, EventKey=""))
    async with mp_world.sm.begin() as s:  # as if received long ago
        await s.execute(update(MpMessage).values(received_at=mp_world.clock() - timedelta(hours=1)))
    mp_world.clock.advance(minutes=2)
    later = pusher_for(mp_world, "safe")
    await later.post(event_xml("oB000000000000000000000000002", "subscribe", later.timestamp, EventKey=""))
    assert await count(mp_world.sm, MpMessage) == 2  # the old pair went, the new pair stays


# The shape of a login scene whose QR expired at the epoch.
EXPIRED_SCENE = "Z" * 22 + "0" * 39


async def test_a_plaintext_mode_reply_is_plain_xml(plain_world: World, pusher_for: PusherFor) -> None:
    pusher = pusher_for(plain_world, "plaintext")
    status, reply = await pusher.post(
        event_xml("oC000000000000000000000000003", "SCAN", pusher.timestamp, EventKey=EXPIRED_SCENE, Ticket="gQexpired")
    )
    assert status == 200 and "<Encrypt>" not in reply
    assert "二维码已过期" in reply_content(reply)


async def test_wechat_failing_user_info_leaves_a_clear_answer_and_no_account(mp_world: World) -> None:
    page = FollowPage(mp_world.browser())
    await page.open()
    await push_to(mp_world)
    [qr] = await mp_world.sim.control("GET", "mp/qrcodes")
    await phone_action(mp_world, "scan", user=1, ticket=qr["ticket"], follow=True)
    await mp_world.sim.control("POST", "faults", {"path": USER_INFO_PATH, "errcode": -1, "times": 1})
    status, answer = await page.claim()
    assert (status, answer["status"]) == (502, "unavailable")
    assert await count(mp_world.sm, User) == 0
    assert (await page.wait())[1]["status"] == "failed"  # and the page is told the same again


async def test_a_disabled_account_is_not_logged_in_by_following(mp_world: World) -> None:
    pc = mp_world.browser()
    await pc.qr_login(user=3)
    async with mp_world.sm.begin() as s:
        await s.execute(update(User).values(disabled_at=mp_world.clock()))
    page = FollowPage(mp_world.browser())
    await page.open()
    await push_to(mp_world)
    [qr] = await mp_world.sim.control("GET", "mp/qrcodes")
    await phone_action(mp_world, "scan", user=3, ticket=qr["ticket"], follow=True)
    status, answer = await page.claim()
    assert (status, answer["status"]) == (502, "failed")
    assert await page.browser.me() is None


async def test_no_secret_reaches_the_logs(mp_world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    page = FollowPage(mp_world.browser())
    await page.open()
    await push_to(mp_world)
    [qr] = await mp_world.sim.control("GET", "mp/qrcodes")
    await phone_action(mp_world, "scan", user=2, ticket=qr["ticket"], follow=True)
    await page.claim()
    async with mp_world.sm() as s:
        stored = await s.scalar(select(AppToken.token_enc))
    assert stored is not None
    interface_token = mp_world.site.server.app[cipher_key].decrypt(stored)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("webapp"))
    assert "stable_token" in ours  # the calls are logged…
    for secret in (MP_TOKEN, MP_AES_KEY, stored, interface_token, sim_fixture.MP_SECRET, qr["ticket"], "<Encrypt>"):
        assert secret not in ours  # …but never a secret, a token, a ticket or a ciphertext


async def test_without_a_listener_waits_fall_back_to_a_slow_poll() -> None:
    notifier = Notifier(None, poll_s=0.01)
    await notifier.start()
    assert not notifier.listening.is_set()
    async with notifier.watch("scene:x") as woken:
        await notifier.wait(woken, timeout_s=3600)  # returns after poll_s: the caller re-reads the database
    await notifier.stop()


async def test_a_held_long_poll_answers_at_once_when_the_site_shuts_down(mp_world: World) -> None:
    app = mp_world.site.server.app
    runtime = app[mp_key]
    runtime.hold_s = 3600  # only the shutdown can end this poll
    page = FollowPage(mp_world.browser())
    _, data = await page.open()
    waiting = asyncio.create_task(page.wait())
    await runtime.notifier.until(lambda: runtime.notifier.watching(wake_key(data["scene"])) > 0)
    await app.shutdown()  # what the runner does first on SIGTERM, before waiting for in-flight requests
    assert (await asyncio.wait_for(waiting, 30))[1]["status"] == "pending"  # the page simply asks again


async def test_behind_pgbouncers_transaction_pooling_no_listen_is_attempted(
    aiohttp_client,
    mp_settings,
    pooled_sessionmaker,  # type: ignore[no-untyped-def]
) -> None:
    pooled = await aiohttp_client(create_app(mp_settings, sessionmaker=pooled_sessionmaker))
    assert pooled.server.app[mp_key].notifier.dsn is not None  # a direct connection: LISTEN
    bounced = await aiohttp_client(
        create_app(mp_settings.with_(database_pool_mode="transaction"), sessionmaker=pooled_sessionmaker)
    )
    notifier = bounced.server.app[mp_key].notifier
    assert notifier.dsn is None and not notifier.listening.is_set()  # waits poll every poll_s instead
