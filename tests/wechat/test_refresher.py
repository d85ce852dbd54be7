"""The refresher against the real simulator over HTTP and a real PostgreSQL, with fixed `now`s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from webapp.crypto import TokenCipher
from webapp.db import Database
from webapp.models import User, WeChatIdentity
from webapp.settings import Settings, WeChatAppConfig, to_asyncpg_url
from webapp.wechat.client import REFRESH_TOKEN_PATH, USERINFO_PATH, WeChatClient
from webapp.wechat.refresher import RefreshPolicy, RefreshReport, configured_apps, refresh_due
from webapp.wechat.schemas import OAuthToken, WeChatApp
from webapp.wechat.worker import refresh_all_due

from .client_fixtures import *
from .client_fixtures import MP, SITE, UNBOUND, SimRef

CIPHER = TokenCipher([Fernet.generate_key().decode()])
APPS = {SITE.appid: SITE, MP.appid: MP}
THIRTY_DAYS = timedelta(days=30)
HORIZON = timedelta(minutes=15)
Sessions = async_sessionmaker[AsyncSession]


async def grant(sim: SimRef, client: WeChatClient, app: WeChatApp, user: int, scope: str) -> OAuthToken:
    """Real tokens from the simulator, as if `user` had just logged in with `app`."""
    return await client.exchange_code(app, await sim.code(app, user, scope))


async def add_identity(
    sm: Sessions, sim: SimRef, token: OAuthToken, app: WeChatApp, *, name: str, **columns: object
) -> int:
    """Store a user and the identity behind `token` the way a login would; return the identity id."""
    now = sim.now()
    async with sm.begin() as s:
        user = User(username=name, username_key=name, display_name=name, created_at=now, updated_at=now,
                    last_seen_at=now)
        s.add(user)
        await s.flush()
        values: dict[str, object] = {
            "user_id": user.id, "appid": app.appid, "app_kind": app.kind, "openid": token.openid,
            "nickname": "", "avatar_url": "", "scope": token.scope, "status": "active",
            "access_token_enc": CIPHER.encrypt(token.access_token),
            "refresh_token_enc": CIPHER.encrypt(token.refresh_token),
            "access_expires_at": token.access_expires_at, "refresh_expires_at": now + THIRTY_DAYS,
            "created_at": now, "updated_at": now,
        }
        values = values | columns
        values.setdefault("refresh_due_at", values["access_expires_at"] - HORIZON)  # as a login sets it
        identity = WeChatIdentity(**values)
        s.add(identity)
        await s.flush()
        return identity.id


async def load(sm: Sessions, identity_id: int) -> WeChatIdentity:
    """The identity as stored now."""
    async with sm() as s:
        identity = await s.get(WeChatIdentity, identity_id)
        assert identity is not None
        return identity


async def run_pass(sm: Sessions, client: WeChatClient, now: datetime, **policy: object) -> RefreshReport:
    """One pass over the configured apps at `now`."""
    return await refresh_due(
        Database.joined_to(sm), client, CIPHER, APPS, clock=lambda: now, policy=RefreshPolicy(**policy)  # type: ignore[arg-type]
    )


async def test_refreshes_only_due_rows_and_keeps_the_access_token_while_it_is_valid(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    due_token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    later_token = await grant(sim, wechat_client, SITE, 2, "snsapi_login")
    due = await add_identity(sessionmaker, sim, due_token, SITE, name="due")
    not_due = await add_identity(
        sessionmaker, sim, later_token, SITE, name="later", access_expires_at=sim.now() + timedelta(hours=3)
    )
    before = await load(sessionmaker, not_due)
    await sim.advance(6600)  # 10 minutes left on the 2-hour access token: inside the 15-minute horizon
    now = sim.now()

    report = await run_pass(sessionmaker, wechat_client, now)

    assert (report.claimed, report.refreshed, report.failed, report.reauth_required) == (1, 1, 0, 0)
    row = await load(sessionmaker, due)
    assert CIPHER.decrypt(row.access_token_enc or "") == due_token.access_token
    assert CIPHER.decrypt(row.refresh_token_enc or "") == due_token.refresh_token
    assert row.access_expires_at == now + timedelta(seconds=7200)
    assert row.refresh_expires_at == due_token.access_expires_at - timedelta(seconds=7200) + THIRTY_DAYS
    assert row.refresh_due_at == now + timedelta(seconds=7200) - HORIZON  # next time: before this one expires
    assert row.status == "active"
    untouched = await load(sessionmaker, not_due)
    assert untouched.access_token_enc == before.access_token_enc
    assert untouched.refresh_due_at == before.refresh_due_at
    assert len(await sim.calls(REFRESH_TOKEN_PATH)) == 1


async def test_after_the_access_token_expired_a_new_one_is_stored(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    identity = await add_identity(sessionmaker, sim, token, SITE, name="alice")
    await sim.advance(7300)
    now = sim.now()

    report = await run_pass(sessionmaker, wechat_client, now)

    assert report.refreshed == 1
    row = await load(sessionmaker, identity)
    new_access = CIPHER.decrypt(row.access_token_enc or "")
    assert new_access != token.access_token
    assert CIPHER.decrypt(row.refresh_token_enc or "") == token.refresh_token  # WeChat does not rotate it
    assert row.access_expires_at == now + timedelta(seconds=7200)
    profile = await wechat_client.user_info(new_access, token.openid)  # and WeChat accepts the new one
    assert profile.openid == token.openid


async def test_refresh_token_past_its_30_days_needs_reauth_without_asking_wechat(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    identity = await add_identity(sessionmaker, sim, token, SITE, name="alice", nickname="张伟")
    await sim.advance(THIRTY_DAYS.total_seconds() + 1)

    report = await run_pass(sessionmaker, wechat_client, sim.now())

    assert (report.reauth_required, report.refreshed, report.failed) == (1, 0, 0)
    row = await load(sessionmaker, identity)
    assert row.status == "reauth_required"
    assert row.access_token_enc is None and row.refresh_token_enc is None
    assert row.nickname == "张伟" and row.openid == token.openid  # the identity itself is kept
    assert row.refresh_due_at is None  # out of the refresher's index
    assert await sim.calls(REFRESH_TOKEN_PATH) == []
    assert (await run_pass(sessionmaker, wechat_client, sim.now())).claimed == 0


async def test_wechat_saying_the_refresh_token_expired_needs_reauth(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    # Our record thinks the refresh_token has a day left; WeChat's clock disagrees (42002).
    identity = await add_identity(
        sessionmaker, sim, token, SITE, name="alice", refresh_expires_at=sim.now() + THIRTY_DAYS + timedelta(days=1)
    )
    await sim.advance(THIRTY_DAYS.total_seconds() + 1)

    report = await run_pass(sessionmaker, wechat_client, sim.now(), active_days=60)

    assert report.reauth_required == 1
    assert (await load(sessionmaker, identity)).status == "reauth_required"
    assert [c["errcode"] for c in await sim.calls(REFRESH_TOKEN_PATH)] == [42002]


async def test_revoked_authorization_needs_reauth(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, MP, 3, "snsapi_userinfo")
    identity = await add_identity(sessionmaker, sim, token, MP, name="wang")
    await sim.revoke(MP, 3)
    await sim.advance(6600)

    report = await run_pass(sessionmaker, wechat_client, sim.now())

    assert (report.reauth_required, report.refreshed) == (1, 0)
    row = await load(sessionmaker, identity)
    assert row.status == "reauth_required"
    assert row.access_token_enc is None and row.refresh_token_enc is None
    assert [c["errcode"] for c in await sim.calls(REFRESH_TOKEN_PATH)] == [40030]


async def test_busy_wechat_fails_the_row_with_its_reason_and_retries_it_after_a_growing_backoff(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    identity = await add_identity(sessionmaker, sim, token, SITE, name="alice")
    await sim.advance(6600)
    now = sim.now()
    await sim.fault(REFRESH_TOKEN_PATH, errcode=-1, times=8)  # outlasts the client's three retries, twice

    first = await run_pass(sessionmaker, wechat_client, now)
    assert (first.failed, first.refreshed, first.reauth_required) == (1, 0, 0)
    row = await load(sessionmaker, identity)
    assert row.status == "active" and row.refresh_due_at == now + timedelta(minutes=1)
    assert (row.refresh_failures, row.refresh_error) == (1, "WeChatBusy:-1")
    assert row.access_expires_at == token.access_expires_at

    assert (await run_pass(sessionmaker, wechat_client, now + timedelta(seconds=59))).claimed == 0
    second = await run_pass(sessionmaker, wechat_client, now + timedelta(minutes=1))
    assert second.failed == 1
    row = await load(sessionmaker, identity)
    assert (row.refresh_failures, row.refresh_due_at) == (2, now + timedelta(minutes=3))  # 2 minutes this time
    assert len(await sim.calls(REFRESH_TOKEN_PATH)) == 8

    retried = await run_pass(sessionmaker, wechat_client, now + timedelta(minutes=3))
    assert (retried.claimed, retried.refreshed) == (1, 1)
    row = await load(sessionmaker, identity)
    assert (row.refresh_failures, row.refresh_error) == (0, "")
    assert row.access_expires_at == sim.now() + timedelta(seconds=7200)  # the client's clock is WeChat's


async def test_tokens_are_stored_as_ciphertext(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    identity = await add_identity(sessionmaker, sim, token, SITE, name="alice")
    await sim.advance(7300)
    assert (await run_pass(sessionmaker, wechat_client, sim.now())).refreshed == 1
    new_access = CIPHER.decrypt((await load(sessionmaker, identity)).access_token_enc or "")

    async with sessionmaker() as s:
        row_text = text("SELECT CAST(w AS text) FROM wechat_identities w WHERE id = :id")
        whole_row = await s.scalar(row_text, {"id": identity})
    assert whole_row and token.openid in whole_row  # the query does read the row
    for secret in (new_access, token.access_token, token.refresh_token):
        assert secret not in whole_row


async def test_profile_sync_updates_a_changed_nickname_and_avatar(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    identity = await add_identity(
        sessionmaker, sim, token, SITE, name="alice", nickname="旧昵称", avatar_url="https://old/avatar",
        profile_synced_at=sim.now() - timedelta(days=2),
    )
    await sim.advance(6600)
    now = sim.now()

    report = await run_pass(sessionmaker, wechat_client, now)

    assert (report.refreshed, report.profiles_synced) == (1, 1)
    row = await load(sessionmaker, identity)
    assert row.nickname == "张伟"
    assert row.avatar_url == f"{sim.url}/mmopen/1/132"
    assert row.profile_synced_at == now


async def test_profile_is_not_fetched_when_fresh_or_when_the_scope_is_base(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    site_token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    base_token = await grant(sim, wechat_client, MP, 2, "snsapi_base")
    fresh = await add_identity(
        sessionmaker, sim, site_token, SITE, name="fresh", nickname="旧昵称", profile_synced_at=sim.now()
    )
    base = await add_identity(sessionmaker, sim, base_token, MP, name="base", nickname="")
    await sim.advance(6600)

    report = await run_pass(sessionmaker, wechat_client, sim.now())

    assert (report.refreshed, report.profiles_synced) == (2, 0)
    assert await sim.calls(USERINFO_PATH) == []
    assert (await load(sessionmaker, fresh)).nickname == "旧昵称"
    assert (await load(sessionmaker, base)).profile_synced_at is None


async def test_identities_of_apps_not_configured_are_left_alone(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, UNBOUND, 1, "snsapi_login")
    identity = await add_identity(sessionmaker, sim, token, UNBOUND, name="alice")
    await sim.advance(7300)

    report = await run_pass(sessionmaker, wechat_client, sim.now())

    assert report == RefreshReport()
    row = await load(sessionmaker, identity)
    assert row.refresh_due_at == token.access_expires_at - HORIZON and row.access_expires_at == token.access_expires_at
    assert await sim.calls(REFRESH_TOKEN_PATH) == []


async def test_a_token_no_key_can_decrypt_fails_the_row_and_is_not_marked_for_reauth(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    token = await grant(sim, wechat_client, SITE, 1, "snsapi_login")
    foreign = TokenCipher([Fernet.generate_key().decode()]).encrypt(token.refresh_token)
    identity = await add_identity(sessionmaker, sim, token, SITE, name="alice", refresh_token_enc=foreign)
    await sim.advance(6600)

    report = await run_pass(sessionmaker, wechat_client, sim.now())

    assert (report.claimed, report.failed, report.reauth_required, report.refreshed) == (1, 1, 0, 0)
    row = await load(sessionmaker, identity)
    assert row.status == "active" and row.refresh_token_enc == foreign and row.refresh_error == "undecryptable"
    assert await sim.calls(REFRESH_TOKEN_PATH) == []


def test_configured_apps_maps_each_configured_app_by_appid() -> None:
    settings = Settings(wechat_web=WeChatAppConfig(SITE.appid, SITE.secret))
    assert configured_apps(settings) == {SITE.appid: SITE}
    both = settings.with_(wechat_mp=WeChatAppConfig(MP.appid, MP.secret))
    assert configured_apps(both) == APPS
    assert configured_apps(Settings()) == {}


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[Sessions]:
    """Sessions on a pooled engine whose commits are real; deletes this test's users afterwards."""
    engine = create_async_engine(to_asyncpg_url(database_url), pool_size=5)
    sm = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield sm
    finally:
        async with sm.begin() as s:
            await s.execute(delete(User).where(User.username.like("race-%")))
        await engine.dispose()


async def test_concurrent_passes_refresh_each_row_exactly_once(
    sim: SimRef, wechat_client: WeChatClient, committed: Sessions
) -> None:
    apps = APPS | {UNBOUND.appid: UNBOUND}
    ids = []
    for app, scope in ((SITE, "snsapi_login"), (MP, "snsapi_userinfo"), (UNBOUND, "snsapi_login")):
        for user in range(1, 6):
            token = await grant(sim, wechat_client, app, user, scope)
            ids.append(await add_identity(committed, sim, token, app, name=f"race-{app.appid}-{user}"))
    await sim.advance(7300)
    now = sim.now()

    # Three workers, each draining in small batches on its own connections, all at once.
    databases = [Database.pooled(committed) for _ in range(3)]
    try:
        reports = await asyncio.gather(
            *(refresh_all_due(db, wechat_client, CIPHER, apps, clock=lambda: now, policy=RefreshPolicy(batch=2))
              for db in databases)
        )
    finally:
        for db in databases:
            if db.pool is not None:
                await db.close_pool()

    assert sum(r.refreshed for r in reports) == len(ids) == 15
    assert sum(r.claimed for r in reports) == 15
    assert len(await sim.calls(REFRESH_TOKEN_PATH)) == 15
    async with committed() as s:
        leased = await s.scalar(
            select(func.count()).where(WeChatIdentity.id.in_(ids), WeChatIdentity.refresh_due_at <= now)
        )
        refreshed = await s.scalar(
            select(func.count()).where(WeChatIdentity.id.in_(ids), WeChatIdentity.access_expires_at > now)
        )
    assert (leased, refreshed) == (0, 15)
