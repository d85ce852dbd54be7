"""Sign-up, login and logout over HTTP, the way a browser does it (CSRF token from the form)."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.accounts.helpers import PASSWORD, SM, AuthActions, create_user, prefer_english, session_row
from webapp.clock import FrozenClock
from webapp.csrf import CSRF_COOKIE
from webapp.models import LoginFailure


@pytest.fixture
def auth(client: TestClient) -> AuthActions:
    prefer_english(client)
    return AuthActions(client)


async def me(client: TestClient) -> dict[str, object] | None:
    response = await client.get("/api/me")
    return await response.json() if response.status == 200 else None


async def test_signup_logs_the_new_user_in(auth: AuthActions) -> None:
    response = await auth.signup("alice", display_name="Alice L.")
    assert response.status == 302
    assert response.headers["Location"] == "/"
    profile = await me(auth.client)
    assert profile is not None and isinstance(profile["id"], int)
    assert profile == {
        "id": profile["id"],
        "username": "alice",
        "display_name": "Alice L.",
        "has_password": True,
        "avatar": None,
        "wechat": [],
        "phone": None,
    }
    home = await (await auth.client.get("/")).text()
    assert "Welcome! Your account is ready." in home
    assert "Hello, Alice L." in home


async def test_pages_of_someone_logged_in_are_never_stored(auth: AuthActions) -> None:
    assert (await auth.client.get("/")).headers["Cache-Control"] == "private, no-cache"  # public: bfcache may keep it
    await auth.signup("alice")
    for path in ("/", "/settings", "/no/such/page"):  # they show the person's name or data
        assert (await auth.client.get(path)).headers["Cache-Control"] == "no-store", path


async def test_signup_follows_only_a_safe_next(auth: AuthActions) -> None:
    assert (await auth.signup("alice", next="/settings")).headers["Location"] == "/settings"
    await auth.logout()
    assert (await auth.signup("bob", next="//evil.example/")).headers["Location"] == "/"


async def test_signup_errors_keep_the_typed_values_but_never_the_password(auth: AuthActions) -> None:
    response = await auth.signup("al", password="secret-pw-123", confirm="other-pw-456", display_name="Al Bundy")
    body = await response.text()
    assert response.status == 400
    assert 'value="al"' in body and 'value="Al Bundy"' in body
    assert "A username has 3 to 32 characters." in body
    assert "The two passwords do not match." in body
    assert "secret-pw-123" not in body and "other-pw-456" not in body
    assert await me(auth.client) is None


@pytest.mark.parametrize("second", ["alice", "ALICE", "ａｌｉｃｅ"])
async def test_duplicate_signup_shows_a_clear_error(client: TestClient, auth: AuthActions, second: str) -> None:
    assert (await auth.signup("alice")).status == 302
    await auth.logout()
    response = await auth.signup(second)
    assert response.status == 400
    assert "That username is taken." in await response.text()


@pytest.mark.parametrize("username", ["张三丰", "Ünïcödé", "пользователь", "user.name-1_x"])
async def test_unicode_usernames_sign_up_and_log_in(auth: AuthActions, username: str) -> None:
    assert (await auth.signup(username)).status == 302
    await auth.logout()
    assert (await auth.login(username.upper())).status == 302
    assert (await me(auth.client) or {})["username"] == username


async def test_login_goes_to_a_safe_next(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    response = await auth.login(next="/settings?tab=1")
    assert (response.status, response.headers["Location"]) == (302, "/settings?tab=1")


@pytest.mark.parametrize("hostile", ["//evil.com", "https://evil.com/", "/\\evil.com", "javascript:alert(1)"])
async def test_login_ignores_a_hostile_next(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock, hostile: str
) -> None:
    await create_user(sessionmaker, clock)
    assert (await auth.login(next=hostile)).headers["Location"] == "/"


async def test_login_page_carries_next_into_the_form(auth: AuthActions) -> None:
    body = await (await auth.client.get("/login", params={"next": "/settings"})).text()
    assert 'name="next" value="/settings"' in body
    body = await (await auth.client.get("/login", params={"next": "https://evil.com"})).text()
    assert 'name="next" value="/"' in body


async def test_unknown_user_and_wrong_password_look_identical(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    unknown = await auth.login("alice", "wrong password")
    unknown_body = await unknown.text()
    await create_user(sessionmaker, clock)
    wrong = await auth.login("alice", "wrong password")
    assert unknown.status == wrong.status == 400
    masked = re.compile(r'(name="csrf_token" value=|data-csrf=)"[^"]+"')  # a fresh mask on every page
    assert masked.sub("token", unknown_body) == masked.sub("token", await wrong.text())
    assert "Wrong username or password." in unknown_body
    assert 'value="alice"' in unknown_body and "wrong password" not in unknown_body


async def test_failed_login_page_is_the_login_form_again(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    await create_user(sessionmaker, clock)
    body = await (await auth.login("alice", "nope nope")).text()
    assert 'action="/login"' in body and 'name="csrf_token"' in body


async def test_username_throttling_refuses_with_minutes_then_expires(
    auth: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    await create_user(sessionmaker, clock)
    for _ in range(5):
        assert (await auth.login("alice", "wrong password")).status == 400
    refused = await auth.login("alice", PASSWORD)
    assert refused.status == 429
    assert "Too many failed attempts. Try again in 15 minutes." in await refused.text()
    clock.advance(minutes=14)
    assert "Try again in 1 minute." in await (await auth.login("alice", PASSWORD)).text()
    clock.advance(minutes=1)
    assert (await auth.login("alice", PASSWORD)).status == 302


async def test_ip_throttling_refuses_every_username(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    async with sessionmaker.begin() as s:
        s.add_all(LoginFailure(scope="ip", key="127.0.0.1", failed_at=clock()) for _n in range(20))
    clock.advance(minutes=5)
    refused = await auth.login("alice", PASSWORD)
    assert refused.status == 429
    assert "Try again in 10 minutes." in await refused.text()


async def test_throttle_message_is_localised(client: TestClient, sessionmaker: SM, clock: FrozenClock) -> None:
    auth = AuthActions(client)  # no language cookie: Chinese by default
    for _ in range(5):
        await auth.login("ghost", "wrong password")
    assert "失败次数过多。请在 15 分钟后重试。" in await (await auth.login("ghost", "x" * 8)).text()


async def test_session_id_changes_at_login(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    before = auth.session_cookie()
    assert before is not None and await session_row(sessionmaker, before) is not None
    await auth.login()
    after = auth.session_cookie()
    assert after is not None and after != before
    assert await session_row(sessionmaker, before) is None  # the pre-login id is dead on the server too
    row = await session_row(sessionmaker, after)
    assert row is not None and row.user_id is not None


async def test_csrf_token_changes_at_login(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    before = await auth.token("/login")
    await auth.login()
    assert await auth.token("/") != before


async def test_logout_deletes_the_server_session(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    key = auth.session_cookie()
    response = await auth.logout()
    assert (response.status, response.headers["Location"]) == (302, "/login")
    assert await session_row(sessionmaker, key) is None
    assert await me(auth.client) is None
    assert "You are logged out." in await (await auth.client.get("/login")).text()


async def test_logout_is_post_only(auth: AuthActions) -> None:
    assert (await auth.client.get("/logout")).status == 405


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_posts_without_the_right_csrf_token_get_a_403_page(auth: AuthActions, token: str | None) -> None:
    await auth.client.get("/signup")
    data = {"username": "mallory", "password": PASSWORD, "confirm": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = await auth.client.post("/signup", data=data, allow_redirects=False)
    body = await response.text()
    assert response.status == 403
    assert "Form expired" in body and "Traceback" not in body
    assert await me(auth.client) is None


async def test_logout_needs_csrf_too(auth: AuthActions, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    await auth.login()
    assert (await auth.client.post("/logout", allow_redirects=False)).status == 403
    assert await me(auth.client) is not None


@pytest.mark.parametrize("path", ["/signup", "/login"])
async def test_oversized_body_gets_413(auth: AuthActions, path: str) -> None:
    token = await auth.token("/signup")
    response = await auth.client.post(path, data={"csrf_token": token, "username": "a" * 70_000, "password": "x"})
    assert response.status == 413
    assert "What you sent is larger than this site accepts." in await response.text()


async def test_missing_fields_give_the_form_back(auth: AuthActions) -> None:
    response = await auth.post("/signup", {}, form_page="/signup")
    body = await response.text()
    assert response.status == 400
    assert "Enter a username." in body and "Enter a password." in body


async def test_a_file_instead_of_a_field_is_a_form_error(auth: AuthActions) -> None:
    form = aiohttp.FormData()
    form.add_field("csrf_token", await auth.token("/signup"))
    form.add_field("username", b"alice", filename="username.txt", content_type="text/plain")
    form.add_field("password", PASSWORD)
    form.add_field("confirm", PASSWORD)
    response = await auth.client.post("/signup", data=form, allow_redirects=False)
    assert response.status == 400
    assert "Enter a username." in await response.text()


async def test_huge_values_under_the_body_limit_are_form_errors(auth: AuthActions) -> None:
    response = await auth.signup("b" * 20_000, password="p" * 10_000)
    body = await response.text()
    assert response.status == 400
    assert "A username has 3 to 32 characters." in body
    assert "Use at most 1024 characters." in body
    assert "b" * 201 not in body  # the typed value is echoed only in part
    login = await auth.login("c" * 30_000, "p" * 20_000)
    assert login.status == 400 and "Wrong username or password." in await login.text()


async def test_json_posts_are_refused_without_crashing(auth: AuthActions) -> None:
    token = await auth.token("/signup")
    response = await auth.client.post(
        "/signup", json={"username": "alice"}, headers={"X-CSRF-Token": token}, allow_redirects=False
    )
    assert response.status == 400
    assert "Enter a username." in await response.text()


async def test_login_and_signup_pages_redirect_when_logged_in(auth: AuthActions) -> None:
    await auth.signup()
    for path in ("/login?next=/settings", "/signup?next=/settings"):
        response = await auth.client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, "/settings")


async def test_api_me_is_401_json_when_anonymous(client: TestClient) -> None:
    response = await client.get("/api/me")
    assert response.status == 401
    assert response.content_type == "application/json"
    assert set(await response.json()) == {"error", "message"}


async def test_healthz(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_forms_show_a_cookie_bound_csrf_token_without_a_session(auth: AuthActions, sessionmaker: SM) -> None:
    await auth.client.get("/login")
    assert auth.session_cookie() is None  # an anonymous form needs no server-side session
    assert any(c.key == CSRF_COOKIE for c in auth.client.session.cookie_jar)
