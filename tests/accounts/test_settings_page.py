"""The settings page: password set/change, re-authentication, logging out other sessions, activity."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.accounts.helpers import PASSWORD, SM, AuthActions, create_user, login_as, prefer_english, session_row
from webapp.clock import FrozenClock
from webapp.models import SecurityEvent, User


@pytest.fixture
def auth(client: TestClient) -> AuthActions:
    prefer_english(client)
    return AuthActions(client)


async def test_settings_needs_a_login(client: TestClient) -> None:
    response = await client.get("/settings", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/login?next=/settings&why=login_required")
    assert "Log in to see that page." in await (await client.get(response.headers["Location"], headers={"Accept-Language": "en"})).text()


async def test_settings_shows_the_account_and_its_sections(auth: AuthActions) -> None:
    await auth.signup("alice", display_name="Alice L.")
    body = await (await auth.client.get("/settings")).text()
    assert "alice" in body and "Alice L." in body
    assert "Change password" in body and 'name="current_password"' in body
    assert 'action="/settings/sessions/logout-others"' in body
    assert "Account created" in body


async def test_activity_lists_the_last_ten_events_newest_first(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    await create_user(sessionmaker, clock)
    for _ in range(4):
        await auth.login("alice", "wrong password")
        clock.advance(seconds=1)
    await auth.login()
    body = await (await auth.client.get("/settings")).text()
    assert body.count('class="activity-item') == 5
    assert body.index('activity-login"') < body.index("activity-login_failed")
    for _ in range(7):
        clock.advance(seconds=1)
        await auth.logout()
        await auth.login()
    body = await (await auth.client.get("/settings")).text()
    assert body.count('class="activity-item') == 10


async def test_change_password_with_the_wrong_current_one(auth: AuthActions) -> None:
    await auth.signup()
    response = await auth.post(
        "/settings/password",
        {"current_password": "not mine", "password": "new password 1", "confirm": "new password 1"},
        form_page="/settings",
    )
    body = await response.text()
    assert response.status == 400
    assert "Your current password is wrong." in body
    assert "new password 1" not in body and "not mine" not in body


async def test_change_password_then_log_in_with_it(auth: AuthActions) -> None:
    await auth.signup()
    response = await auth.post(
        "/settings/password",
        {"current_password": PASSWORD, "password": "new password 1", "confirm": "new password 1"},
        form_page="/settings",
    )
    assert (response.status, response.headers["Location"]) == (302, "/settings")
    body = await (await auth.client.get("/settings")).text()
    assert "Your password has been saved." in body and "Password changed" in body
    await auth.logout()
    assert (await auth.login(password=PASSWORD)).status == 400
    assert (await auth.login(password="new password 1")).status == 302


async def test_change_password_validation_errors_stay_on_the_page(auth: AuthActions) -> None:
    await auth.signup()
    response = await auth.post(
        "/settings/password",
        {"current_password": PASSWORD, "password": "short", "confirm": "short"},
        form_page="/settings",
    )
    assert response.status == 400
    assert "Use at least 8 characters." in await response.text()


async def test_wechat_only_account_sets_a_username_and_password(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    user = await create_user(sessionmaker, clock, username=None, password=None)
    await login_as(auth.client, sessionmaker, clock, user)
    page = await (await auth.client.get("/settings")).text()
    assert "Set a password" in page and 'name="username"' in page and 'name="current_password"' not in page
    response = await auth.post(
        "/settings/password",
        {"username": "WeChatFan", "password": PASSWORD, "confirm": PASSWORD},
        form_page="/settings",
    )
    assert response.status == 302
    async with sessionmaker() as s:
        stored = await s.get(User, user.id)
    assert stored is not None and stored.username == "WeChatFan" and stored.password_hash is not None
    await auth.logout()
    assert (await auth.login("wechatfan")).status == 302


async def test_wechat_only_account_cannot_take_a_used_username(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    await create_user(sessionmaker, clock, username="alice")
    user = await create_user(sessionmaker, clock, username=None, password=None)
    await login_as(auth.client, sessionmaker, clock, user)
    response = await auth.post(
        "/settings/password", {"username": "ALICE", "password": PASSWORD, "confirm": PASSWORD}, form_page="/settings"
    )
    body = await response.text()
    assert response.status == 400
    assert "That username is taken." in body and 'value="ALICE"' in body


async def test_reauth_marks_a_recent_login_and_goes_back(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    login_time = clock().timestamp()
    clock.advance(minutes=30)
    response = await auth.post(
        "/settings/reauth", {"password": PASSWORD, "next": "/settings#wechat"}, form_page="/settings"
    )
    assert (response.status, response.headers["Location"]) == (302, "/settings#wechat")
    row = await session_row(sessionmaker, auth.session_cookie())
    assert row is not None and row.data["auth_at"] == login_time + 30 * 60


async def test_reauth_with_a_wrong_password_shows_the_form_again(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    response = await auth.post("/settings/reauth", {"password": "nope", "next": "/settings"}, form_page="/settings")
    body = await response.text()
    assert response.status == 400
    assert "That password is wrong." in body and 'action="/settings/reauth"' in body


async def test_reauth_is_throttled(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    for _ in range(5):
        await auth.post("/settings/reauth", {"password": "nope"}, form_page="/settings")
    response = await auth.post("/settings/reauth", {"password": PASSWORD}, form_page="/settings")
    assert response.status == 429
    assert "Too many failed attempts. Try again in 15 minutes." in await response.text()


async def test_reauth_never_redirects_off_site(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    response = await auth.post("/settings/reauth", {"password": PASSWORD, "next": "//evil.com"}, form_page="/settings")
    assert response.headers["Location"] == "/settings"


async def test_logout_others_ends_every_other_session(
    auth: AuthActions,
    aiohttp_client,
    sessionmaker: SM,
    clock: FrozenClock,  # type: ignore[no-untyped-def]
) -> None:
    await create_user(sessionmaker, clock)
    other = AuthActions(await aiohttp_client(auth.client.server))
    await other.login()
    await auth.login()
    assert (await other.client.get("/api/me")).status == 200
    response = await auth.post("/settings/sessions/logout-others", form_page="/settings")
    assert (response.status, response.headers["Location"]) == (302, "/settings")
    assert await session_row(sessionmaker, other.session_cookie()) is None
    assert (await other.client.get("/api/me")).status == 401
    assert (await auth.client.get("/api/me")).status == 200
    assert "Logged out of 1 other session." in await (await auth.client.get("/settings")).text()
    async with sessionmaker() as s:
        kinds = (await s.scalars(select(SecurityEvent.kind))).all()
    assert "logout_others" in kinds


async def test_settings_posts_need_csrf(auth: AuthActions) -> None:
    await auth.signup()
    for path in ("/settings/password", "/settings/reauth", "/settings/sessions/logout-others"):
        assert (await auth.client.post(path, data={"password": PASSWORD})).status == 403
