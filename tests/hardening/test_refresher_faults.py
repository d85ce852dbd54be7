"""The refresher against hostile profiles and failing rows: one bad row never holds up the others.

People log in through the site (real QR logins on the simulator), then both clocks move a day on so every
grant is due and every profile is stale. A pass then runs over the site's own database connection. A row
PostgreSQL refuses is made with a CHECK constraint added inside the test's rolled-back transaction.
"""

from __future__ import annotations

import asyncio
import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from tests.wechat.client_fixtures import RecordingSleep
from tests.wechat.harness import World
from webapp.crypto import TokenCipher
from webapp.db import Database
from webapp.models import WeChatIdentity
from webapp.wechat.client import REFRESH_TOKEN_PATH, USERINFO_PATH, WeChatClient
from webapp.wechat.refresher import RefreshPolicy, RefreshReport, configured_apps, refresh_due
from webapp.wechat.schemas import NICKNAME_MAX, OAuthToken, WeChatApp

DAY = timedelta(hours=25)  # every access token expired and every profile older than a day
HOSTILE_NICKNAME = "\u0000Eve\u202e\u2066\u200b\u200f\ufeff\u0007" + "\u202ex\u200b" * 3333  # 10,008 characters
UNSTORABLE = "row PostgreSQL refuses"


@dataclass
class Pass:
    """What one test needs to run refresher passes at the site's clock."""

    world: World
    client: WeChatClient
    cipher: TokenCipher

    async def run(self, *, cipher: TokenCipher | None = None, client: WeChatClient | None = None, **policy: Any) -> RefreshReport:
        return await refresh_due(
            Database.joined_to(self.world.sm), client or self.client, cipher or self.cipher,
            configured_apps(self.world.settings), clock=self.world.clock, policy=RefreshPolicy(**policy),
        )

    async def rows(self) -> dict[int, WeChatIdentity]:
        """Every identity by simulator user (its openid's owner)."""
        users = {u["openids"][a]: u["id"] for u in await self.world.sim.control("GET", "users") for a in u["openids"]}
        async with self.world.sm() as s:
            return {users[i.openid]: i for i in (await s.scalars(select(WeChatIdentity))).all()}


@pytest.fixture
async def refresher(world: World) -> Any:
    async with aiohttp.ClientSession() as http:
        client = WeChatClient(http, api_base=world.sim.url, sleep=RecordingSleep(), now=world.clock)
        yield Pass(world, client, TokenCipher(world.settings.token_keys))


async def log_in(world: World, *users: int) -> None:
    """Each sim user logs in once with the QR (a new account each), as a person would."""
    for user in users:
        resp = await world.browser().qr_login(user=user)
        assert resp.status == 302, await resp.text()


async def a_day_later(world: World) -> datetime:
    await world.sim.control("POST", "clock", {"advance_s": DAY.total_seconds()})
    return world.clock.advance(seconds=DAY.total_seconds())


async def refuse_nickname(world: World, nickname: str) -> None:
    """From now on (in this test's transaction) PostgreSQL refuses to store this nickname."""
    async with world.sm.begin() as s:
        await s.execute(text(
            f"ALTER TABLE wechat_identities ADD CONSTRAINT hardening_refused CHECK (nickname <> '{nickname}') NOT VALID"
        ))


def printable(value: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value)


async def test_a_hostile_nickname_is_stored_clean_and_a_row_that_cannot_be_stored_blocks_no_other(
    world: World, refresher: Pass
) -> None:
    await log_in(world, 1, 2, 3, 4, 5)
    before = await refresher.rows()
    await world.sim.control("PATCH", "users/3", {"nickname": HOSTILE_NICKNAME, "headimgurl": "http://x/\u0000.png"})
    await world.sim.control("PATCH", "users/4", {"nickname": UNSTORABLE})
    await refuse_nickname(world, UNSTORABLE)
    now = await a_day_later(world)

    report = await refresher.run(batch=2, concurrency=2)

    assert (report.claimed, report.refreshed, report.failed) == (5, 4, 1)
    rows = await refresher.rows()
    cleaned = rows[3].nickname
    assert cleaned.startswith("Eve") and len(cleaned) <= NICKNAME_MAX and printable(cleaned)
    assert "\u202e" not in cleaned and "\u200b" not in cleaned and "\u2066" not in cleaned
    assert rows[3].avatar_url == ""  # an avatar URL with a NUL is not a URL: dropped, as for no avatar
    for user in (1, 2, 3, 5):  # refreshed in the same pass, despite row 4
        assert rows[user].access_expires_at == now + timedelta(seconds=7200)
        assert rows[user].refresh_due_at == now + timedelta(seconds=7200 - 900)
        assert (rows[user].refresh_failures, rows[user].refresh_error) == (0, "")
    failing = rows[4]
    assert (failing.refresh_failures, failing.refresh_error) == (1, "store_failed")
    assert failing.refresh_due_at == now + timedelta(minutes=1)  # retried later, after a backoff
    assert failing.refresh_token_enc == before[4].refresh_token_enc and failing.nickname == before[4].nickname

    assert (await refresher.run()).claimed == 0  # not first in line again at once
    world.clock.advance(minutes=1)
    again = await refresher.run()
    assert (again.claimed, again.failed) == (1, 1)  # only the failing row is due; the others are not held up
    failing = (await refresher.rows())[4]
    assert failing.refresh_failures == 2 and failing.refresh_due_at == world.clock() + timedelta(minutes=2)


async def test_a_row_the_database_refuses_is_logged_without_its_values(
    world: World, refresher: Pass, caplog: pytest.LogCaptureFixture
) -> None:
    await log_in(world, 1, 2)
    await world.sim.control("PATCH", "users/2", {"nickname": UNSTORABLE, "headimgurl": "https://wx.qlogo.cn/mmopen/SECRETPATH/132"})
    await refuse_nickname(world, UNSTORABLE)
    await a_day_later(world)
    caplog.set_level(logging.DEBUG)

    report = await refresher.run(batch=5)

    assert (report.refreshed, report.failed) == (1, 1)
    assert any("one by one" in r.getMessage() for r in caplog.records)  # the path that logs a SQL error ran
    # The simulator's own server access log (in this process, tests only) prints its raw URLs: not the site's.
    site = [r for r in caplog.records if not r.name.startswith(("aiohttp.access", "webapp.wechat_sim"))]
    handler = logging.StreamHandler(io.StringIO())
    logged = "\n".join(handler.format(r) for r in site)
    assert "RedactedDatabaseError: CheckViolationError (SQLSTATE 23514)" in logged
    rows = await refresher.rows()
    for row in rows.values():
        for value in (row.openid, row.unionid, row.access_token_enc, row.refresh_token_enc,
                      refresher.cipher.decrypt(row.refresh_token_enc or "")):
            assert value and value not in logged
    assert "SECRETPATH" not in logged and UNSTORABLE not in logged and "Failing row" not in logged


@pytest.mark.parametrize("errcode", [40013, 40125])
async def test_a_misconfigured_app_fails_the_row_with_its_errcode_and_the_others_are_refreshed(
    world: World, refresher: Pass, errcode: int, caplog: pytest.LogCaptureFixture
) -> None:
    await log_in(world, 1, 2, 3)
    now = await a_day_later(world)
    await world.sim.fault(REFRESH_TOKEN_PATH, errcode=errcode, times=1)

    report = await refresher.run()

    assert (report.refreshed, report.failed) == (2, 1)
    [failed] = [r for r in (await refresher.rows()).values() if r.refresh_failures]
    assert failed.refresh_error == f"misconfigured:{errcode}" and failed.refresh_due_at == now + timedelta(minutes=1)
    assert any(r.levelno == logging.ERROR and "misconfigured" in r.getMessage() for r in caplog.records)


class ExplodingCipher(TokenCipher):
    """The site's cipher, except that one ciphertext makes it raise something nobody expects."""

    def __init__(self, keys: Any, poisoned: str) -> None:
        super().__init__(keys)
        self.poisoned = poisoned

    def decrypt(self, ciphertext: str) -> str:
        if ciphertext == self.poisoned:
            raise RuntimeError("a surprise in one row")
        return super().decrypt(ciphertext)


async def test_an_unexpected_exception_in_one_row_fails_only_that_row(world: World, refresher: Pass) -> None:
    await log_in(world, 1, 2, 3)
    poisoned = (await refresher.rows())[2].refresh_token_enc or ""
    now = await a_day_later(world)

    report = await refresher.run(cipher=ExplodingCipher(world.settings.token_keys, poisoned))

    assert (report.refreshed, report.failed) == (2, 1)
    rows = await refresher.rows()
    assert (rows[2].refresh_error, rows[2].refresh_due_at) == ("unexpected:RuntimeError", now + timedelta(minutes=1))
    assert rows[1].refresh_error == rows[3].refresh_error == ""


async def test_an_answer_for_another_openid_is_refused_and_stores_nothing_for_that_row(
    world: World, refresher: Pass
) -> None:
    await log_in(world, 1, 2)
    before = await refresher.rows()
    await a_day_later(world)
    someone_else = (await world.sim.user(5))["openids"][before[1].appid]
    await world.sim.fault(REFRESH_TOKEN_PATH, fields={"openid": someone_else})

    report = await refresher.run()

    assert (report.refreshed, report.failed) == (1, 1)
    rows = await refresher.rows()
    [failed] = [user for user, row in rows.items() if row.refresh_failures]
    assert rows[failed].refresh_error == "MalformedResponse"
    assert rows[failed].refresh_token_enc == before[failed].refresh_token_enc
    assert rows[failed].access_expires_at == before[failed].access_expires_at


async def test_a_failed_profile_sync_keeps_the_old_profile_and_still_refreshes(world: World, refresher: Pass) -> None:
    await log_in(world, 1)
    before = (await refresher.rows())[1]
    await world.sim.control("PATCH", "users/1", {"nickname": "New name"})
    now = await a_day_later(world)
    await world.sim.fault(USERINFO_PATH, http_status=502)

    report = await refresher.run()

    assert (report.refreshed, report.failed, report.profiles_synced) == (1, 0, 0)
    row = (await refresher.rows())[1]
    assert row.access_expires_at == now + timedelta(seconds=7200)
    assert (row.nickname, row.avatar_url, row.profile_synced_at) == (before.nickname, before.avatar_url, before.profile_synced_at)
    assert len(await world.sim.calls(USERINFO_PATH)) == 2  # the login's read and the failed sync


class GatedClient(WeChatClient):
    """The site's client, holding each refresh until the test lets it go (to interleave a login)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered, self.go = asyncio.Event(), asyncio.Event()

    async def refresh(self, app: WeChatApp, refresh_token: str, *, openid: str | None = None) -> OAuthToken:
        self.entered.set()
        await self.go.wait()
        return await super().refresh(app, refresh_token, openid=openid)


async def test_tokens_stored_by_a_login_during_the_pass_are_left_alone(world: World, refresher: Pass) -> None:
    await log_in(world, 1)
    await a_day_later(world)
    async with aiohttp.ClientSession() as http:
        gated = GatedClient(http, api_base=world.sim.url, sleep=RecordingSleep(), now=world.clock)
        running = asyncio.create_task(refresher.run(client=gated))
        await asyncio.wait_for(gated.entered.wait(), 30)  # the row is claimed and its refresh under way
        await log_in(world, 1)  # the person logs in meanwhile: new tokens
        after_login = (await refresher.rows())[1]
        gated.go.set()
        report = await running

    assert (report.claimed, report.refreshed, report.skipped) == (1, 0, 1)
    row = (await refresher.rows())[1]
    assert row.refresh_token_enc == after_login.refresh_token_enc
    assert row.access_token_enc == after_login.access_token_enc
    assert (row.refresh_due_at, row.refresh_failures) == (after_login.refresh_due_at, 0)
