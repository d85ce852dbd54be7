"""The support desk's rules, on the test's rolled-back transaction: lookup, disable, enable, unbind, logout."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import T0, TOKEN_KEY
from webapp.admin import users
from webapp.admin.errors import AmbiguousUser, LastLoginMethod, UnknownUser
from webapp.admin.report import report_json, report_text
from webapp.crypto import TokenCipher
from webapp.models import SecurityEvent, User, WebSession, WeChatIdentity, WeChatUnion

from .factories import add_identity, add_session, add_user

Sessions = async_sessionmaker[AsyncSession]


async def admin_events(sm: Sessions, user_id: int) -> list[tuple[str, str, str, str, str]]:
    """(kind, method, actor, client, ip) of the user's events, oldest first."""
    async with sm() as s:
        rows = await s.execute(
            select(SecurityEvent.kind, SecurityEvent.method, SecurityEvent.actor, SecurityEvent.client, SecurityEvent.ip)
            .where(SecurityEvent.user_id == user_id)
            .order_by(SecurityEvent.id)
        )
        return [tuple(r) for r in rows]


async def sessions_of(sm: Sessions, user_id: int) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).where(WebSession.user_id == user_id)) or 0)


@pytest.mark.parametrize("who", ["{id}", "id:{id}", "alice", "ALICE", "username:alice", "oAlice", "openid:oAlice",
                                 "uAlice", "unionid:uAlice"])
async def test_who_finds_the_account_by_id_username_openid_or_unionid(sessionmaker: Sessions, who: str) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0)
        await add_identity(s, alice, now=T0, openid="oAlice", unionid="uAlice")
        await add_user(s, now=T0, username="bob")

    report = await users.user_report(sessionmaker, who.format(id=alice.id), now=T0)

    assert report.user.id == alice.id


async def test_a_value_naming_two_accounts_is_refused_and_a_prefix_settles_it(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0, username="oTwin")
        bob = await add_user(s, now=T0, username="bob")
        await add_identity(s, bob, now=T0, openid="oTwin")

    with pytest.raises(AmbiguousUser) as refused:
        await users.disable_user(sessionmaker, "oTwin", now=T0)

    assert refused.value.matches == {"username": [alice.id], "openid": [bob.id]}
    assert "username:" in str(refused.value) and "openid:" in str(refused.value)
    async with sessionmaker() as s:
        assert (await s.scalars(select(User.disabled_at))).all() == [None, None]  # nothing picked silently
    assert (await users.user_report(sessionmaker, "openid:oTwin", now=T0)).user.id == bob.id
    assert (await users.user_report(sessionmaker, "username:oTwin", now=T0)).user.id == alice.id


async def test_a_user_id_that_is_also_the_same_users_name_is_not_ambiguous(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        user = await add_user(s, now=T0, username="placeholder")
        user.username, user.username_key = str(user.id), str(user.id)

    assert (await users.user_report(sessionmaker, str(user.id), now=T0)).user.id == user.id


@pytest.mark.parametrize("who", ["nobody", "id:999999", "id:abc", "id:", "99999999999999999999999", "openid:alice"])
async def test_unknown_who_is_refused(sessionmaker: Sessions, who: str) -> None:
    async with sessionmaker.begin() as s:
        await add_user(s, now=T0)
    with pytest.raises(UnknownUser):
        await users.logout_user(sessionmaker, who, now=T0)


async def test_disable_ends_every_session_at_once_and_is_recorded_as_an_admin_action(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0)
        bob = await add_user(s, now=T0, username="bob")
        for name in ("phone", "laptop"):
            await add_session(s, alice, now=T0, name=name)
        await add_session(s, bob, now=T0, name="bob")

    change = await users.disable_user(sessionmaker, "alice", now=T0)

    assert change == users.Change(alice.id, changed=True, sessions_ended=2)
    async with sessionmaker() as s:
        assert (await s.get(User, alice.id)).disabled_at == T0  # type: ignore[union-attr]
    assert await sessions_of(sessionmaker, alice.id) == 0
    assert await sessions_of(sessionmaker, bob.id) == 1
    assert await admin_events(sessionmaker, alice.id) == [("disabled", "admin", "admin", "webapp admin", "")]


async def test_disabling_twice_records_once_and_still_ends_sessions(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0, disabled_at=T0)
        await add_session(s, alice, now=T0, name="late")  # e.g. a login that raced the first disable

    change = await users.disable_user(sessionmaker, "alice", now=T0)

    assert change == users.Change(alice.id, changed=False, sessions_ended=1)
    assert await admin_events(sessionmaker, alice.id) == []


async def test_enable_clears_the_mark_and_is_recorded(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0, disabled_at=T0)

    assert (await users.enable_user(sessionmaker, "alice", now=T0)).changed
    assert not (await users.enable_user(sessionmaker, "alice", now=T0)).changed

    async with sessionmaker() as s:
        assert (await s.get(User, alice.id)).disabled_at is None  # type: ignore[union-attr]
    assert await admin_events(sessionmaker, alice.id) == [("enabled", "admin", "admin", "webapp admin", "")]


async def test_unbind_removes_identities_and_unionids_of_that_account_only(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0)
        await add_identity(s, alice, now=T0, openid="oAliceWeb", unionid="uAlice")
        await add_identity(s, alice, now=T0, openid="oAliceMp", unionid="uAlice", appid="wxmp")
        bob = await add_user(s, now=T0, username="bob")
        await add_identity(s, bob, now=T0, openid="oBob", unionid="uBob")

    change = await users.unbind_user(sessionmaker, "uAlice", now=T0)

    assert change == users.Change(alice.id, changed=True, identities_removed=2)
    async with sessionmaker() as s:
        assert (await s.scalars(select(WeChatIdentity.openid))).all() == ["oBob"]
        assert (await s.scalars(select(WeChatUnion.unionid))).all() == ["uBob"]
    assert await admin_events(sessionmaker, alice.id) == [("unbind", "admin", "admin", "webapp admin", "")]


async def test_unbind_is_refused_when_the_account_has_no_password(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        only_wechat = await add_user(s, now=T0, username=None, password=False)
        await add_identity(s, only_wechat, now=T0, openid="oOnly", unionid="uOnly")

    with pytest.raises(LastLoginMethod):
        await users.unbind_user(sessionmaker, "oOnly", now=T0)

    async with sessionmaker() as s:
        assert (await s.scalars(select(WeChatIdentity.openid))).all() == ["oOnly"]
    assert await admin_events(sessionmaker, only_wechat.id) == []


async def test_logout_ends_all_sessions_and_records_it_only_when_there_were_some(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0)
        await add_session(s, alice, now=T0, name="one")
        await add_session(s, alice, now=T0, name="two")

    assert (await users.logout_user(sessionmaker, "alice", now=T0)).sessions_ended == 2
    assert (await users.logout_user(sessionmaker, "alice", now=T0)).sessions_ended == 0

    assert await sessions_of(sessionmaker, alice.id) == 0
    assert await admin_events(sessionmaker, alice.id) == [("sessions_ended", "admin", "admin", "webapp admin", "")]


async def test_report_shows_profile_identities_live_sessions_and_activity_never_tokens(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as s:
        alice = await add_user(s, now=T0, display_name="Alice")
        identity = await add_identity(s, alice, now=T0, openid="oAlice", unionid="uAlice", cipher=TokenCipher([TOKEN_KEY]))
    await users.disable_user(sessionmaker, "alice", now=T0)
    async with sessionmaker.begin() as s:  # rows a racing login might leave: one live, one expired
        await add_session(s, alice, now=T0, name="live", ip="198.51.100.4")
        expired = await add_session(s, alice, now=T0, name="old")
        expired.expires_at = T0

    report = await users.user_report(sessionmaker, "alice", now=T0)
    data = report_json(report)
    text = report_text(report)

    assert {k: data[k] for k in ("id", "username", "display_name", "has_password", "disabled", "sessions")} == {
        "id": alice.id, "username": "alice", "display_name": "Alice", "has_password": True, "disabled": True,
        "sessions": 1,
    }
    [wechat] = data["wechat"]
    assert set(wechat) >= {"appid", "openid", "unionid", "nickname", "avatar_url", "status", "access_expires_at",
                           "refresh_expires_at"}
    assert (wechat["openid"], wechat["unionid"], wechat["status"]) == ("oAlice", "uAlice", "active")
    assert data["session_list"][0]["ip"] == "198.51.100.4"
    assert [e["kind"] for e in data["events"]] == ["disabled"]
    for secret in (identity.access_token_enc, identity.refresh_token_enc, "ACCESS-oAlice", "REFRESH-oAlice"):
        assert secret not in text and secret not in str(data)
    assert "oAlice" in text and "disabled: yes" in text and "Sessions (1)" in text
