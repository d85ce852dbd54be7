"""The profile on the settings page: the display name, and the username (sign-up rules, a recent login)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.accounts.helpers import PASSWORD, SM, AuthActions, create_user, login_as, prefer_english
from webapp.clock import FrozenClock
from webapp.models import SecurityEvent, User


@pytest.fixture
def auth(client: TestClient) -> AuthActions:
    prefer_english(client)
    return AuthActions(client)


async def kinds(sm: SM) -> list[str]:
    async with sm() as s:
        return list((await s.scalars(select(SecurityEvent.kind).order_by(SecurityEvent.id))).all())


async def stored(sm: SM, username: str | None = None, user_id: int | None = None) -> User:
    async with sm() as s:
        query = select(User).where(User.id == user_id) if user_id else select(User).where(User.username == username)
        user = await s.scalar(query)
    assert user is not None
    return user


async def test_the_display_name_is_changed_without_a_new_login_and_logged(auth: AuthActions, sessionmaker: SM,
                                                                        clock: FrozenClock) -> None:
    await auth.signup("alice", display_name="Alice")
    clock.advance(hours=2)  # long after the login: a display name proves nothing and risks nothing
    response = await auth.post("/settings/profile", {"display_name": "  Alice Liddell  "}, form_page="/settings")
    assert (response.status, response.headers["Location"]) == (302, "/settings#profile")
    page = await (await auth.client.get("/settings")).text()
    assert "Your display name has been saved." in page and 'value="Alice Liddell"' in page
    assert (await stored(sessionmaker, "alice")).display_name == "Alice Liddell"
    assert "display_name_changed" in await kinds(sessionmaker)
    assert "Display name changed" in page


async def test_an_unchanged_display_name_records_nothing(auth: AuthActions, sessionmaker: SM) -> None:
    await auth.signup("alice", display_name="Alice")
    await auth.post("/settings/profile", {"display_name": "Alice"}, form_page="/settings")
    assert "display_name_changed" not in await kinds(sessionmaker)


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("x" * 65, 400, "A display name has at most 64 characters."),
        ("Alice\u200bL", 400, "The display name contains characters that are not allowed."),
        ("Alice\x00", 400, "contains characters that are not allowed (such as control characters)"),
    ],
)
async def test_a_bad_display_name_is_refused_clearly(auth: AuthActions, sessionmaker: SM, value: str, status: int,
                                                     message: str) -> None:
    await auth.signup("alice", display_name="Alice")
    response = await auth.post("/settings/profile", {"display_name": value}, form_page="/settings")
    assert response.status == status
    assert message in await response.text()
    assert (await stored(sessionmaker, "alice")).display_name == "Alice"


async def test_the_username_changes_under_the_sign_up_rules_and_logs_in_afterwards(
    auth: AuthActions, sessionmaker: SM
) -> None:
    await auth.signup("alice")
    response = await auth.post("/settings/username", {"username": "Ａｌｉｃｅ２"}, form_page="/settings")
    assert (response.status, response.headers["Location"]) == (302, "/settings#profile")
    assert "Your username is now Alice2." in await (await auth.client.get("/settings")).text()
    assert "username_changed" in await kinds(sessionmaker)
    await auth.logout()
    assert (await auth.login("alice")).status == 400
    assert (await auth.login("ALICE2")).status == 302


@pytest.mark.parametrize(
    ("username", "message"),
    [("al", "A username has 3 to 32 characters."), ("al ice", "Use only letters, digits"), ("", "Enter a username.")],
)
async def test_an_invalid_username_is_refused_with_its_reason(auth: AuthActions, username: str, message: str) -> None:
    await auth.signup("alice")
    response = await auth.post("/settings/username", {"username": username}, form_page="/settings")
    body = await response.text()
    assert response.status == 400 and message in body
    assert 'id="username-form"' in body


async def test_a_username_someone_else_has_is_taken(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock, username="bob")
    await auth.signup("alice")
    response = await auth.post("/settings/username", {"username": "BOB"}, form_page="/settings")
    assert response.status == 400 and "That username is taken." in await response.text()
    assert (await stored(sessionmaker, "alice")).username == "alice"


async def test_changing_the_username_needs_a_recent_login(auth: AuthActions, sessionmaker: SM,
                                                          clock: FrozenClock) -> None:
    await auth.signup("alice")
    clock.advance(minutes=11)
    response = await auth.post("/settings/username", {"username": "alicia"}, form_page="/settings")
    assert (response.status, response.headers["Location"]) == (302, "/settings/confirm?next=/settings%23profile")
    assert (await stored(sessionmaker, "alice")).username == "alice"
    response = await auth.post("/settings/reauth", {"password": PASSWORD, "next": "/settings#profile"},
                               form_page="/settings/confirm")
    assert response.headers["Location"] == "/settings#profile"
    assert (await auth.post("/settings/username", {"username": "alicia"}, form_page="/settings")).status == 302
    assert (await stored(sessionmaker, "alicia")).username == "alicia"


async def test_a_wechat_only_account_is_asked_to_choose_a_username_with_its_password(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    user = await create_user(sessionmaker, clock, username=None, password=None, display_name="微信用户")
    await login_as(auth.client, sessionmaker, clock, user)
    page = await (await auth.client.get("/settings")).text()
    assert 'id="username-form"' not in page and "choose one when you set a password" in page
    assert 'data-avatar="default" data-initial="微"' in page  # the generated default avatar
    assert 'src="data:image/svg+xml,%3Csvg' in page


async def test_profile_posts_need_csrf(auth: AuthActions) -> None:
    await auth.signup("alice")
    for path in ("/settings/profile", "/settings/username", "/settings/sessions/end", "/settings/account/delete"):
        assert (await auth.client.post(path, data={"display_name": "x", "username": "bobby"})).status == 403, path
