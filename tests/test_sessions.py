"""Server-side sessions: the cookie's flags, what it carries, expiry, and the storage helpers."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.accounts.helpers import SM, AuthActions, create_user, session_row
from webapp.accounts import service
from webapp.accounts.service import Origin
from webapp.app import create_app
from webapp.clock import FrozenClock
from webapp.csrf import CSRF_COOKIE
from webapp.keys import database_key
from webapp.models import WebSession
from webapp.security import digest
from webapp.sessions import COOKIE_NAME, purge_expired_sessions
from webapp.settings import Settings


def session_cookie(set_cookie_headers: list[str]) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in set_cookie_headers:
        cookie.load(header)
    return cookie


async def test_session_and_csrf_cookies_are_httponly_lax_and_not_secure_over_http(
    client: TestClient, sessionmaker: SM, clock: FrozenClock
) -> None:
    csrf = session_cookie((await client.get("/login")).headers.getall("Set-Cookie"))[CSRF_COOKIE]
    await create_user(sessionmaker, clock)
    login = session_cookie((await AuthActions(client).login()).headers.getall("Set-Cookie"))[COOKIE_NAME]
    for morsel in (csrf, login):
        assert morsel["httponly"] is True
        assert morsel["samesite"] == "Lax"
        assert not morsel["secure"]
        assert morsel["path"] == "/"


async def test_session_cookie_is_secure_when_public_url_is_https(
    aiohttp_client,
    settings: Settings,
    sessionmaker: SM,
    clock: FrozenClock,  # type: ignore[no-untyped-def]
) -> None:
    app = create_app(settings.with_(public_url="https://www.example.com"), sessionmaker=sessionmaker, clock=clock)
    client = await aiohttp_client(app)
    response = await client.get("/login")
    morsel = session_cookie(response.headers.getall("Set-Cookie"))[CSRF_COOKIE]
    assert morsel["secure"] is True and morsel["httponly"] is True and morsel["samesite"] == "Lax"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    await create_user(sessionmaker, clock)
    client.session.cookie_jar.update_cookies({CSRF_COOKIE: morsel.value})  # the test client speaks http
    login = await AuthActions(client).login()
    morsel = session_cookie(login.headers.getall("Set-Cookie"))[COOKIE_NAME]
    assert morsel["secure"] is True and morsel["httponly"] is True and morsel["samesite"] == "Lax"


async def test_cookie_carries_only_a_random_id(client: TestClient, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    auth = AuthActions(client)
    await auth.login()
    key = auth.session_cookie()
    assert key is not None and len(key) >= 40 and "alice" not in key
    row = await session_row(sessionmaker, key)
    assert row is not None and row.id == digest(key) != key  # the database holds only its hash
    assert row.data["uid"] == row.user_id


async def test_expired_session_is_not_honoured(client: TestClient, sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock)
    auth = AuthActions(client)
    await auth.login()
    assert (await client.get("/api/me")).status == 200
    clock.advance(days=14, seconds=1)
    assert (await client.get("/api/me")).status == 401


async def test_unknown_or_absurd_cookies_are_anonymous_and_store_nothing(client: TestClient, sessionmaker: SM) -> None:
    for value in ("made-up", "x" * 5000, "a" * 43):
        client.session.cookie_jar.update_cookies({COOKIE_NAME: value})
        assert (await client.get("/api/me")).status == 401
        assert (await client.get("/login")).status == 200
        async with sessionmaker() as s:
            assert (await s.scalars(select(WebSession))).all() == []


async def add_session(sm: SM, clock: FrozenClock, name: str, user_id: int | None, *, ttl: timedelta) -> None:
    async with sm.begin() as s:
        s.add(WebSession(id=digest(name), user_id=user_id, data={}, created_at=clock(), expires_at=clock() + ttl))


async def test_logout_others_keeps_the_current_session(
    client: TestClient, sessionmaker: SM, clock: FrozenClock
) -> None:
    alice = await create_user(sessionmaker, clock)
    bob = await create_user(sessionmaker, clock, username="bob")
    for name, user in (("a1", alice), ("a2", alice), ("a3", alice), ("b1", bob)):
        await add_session(sessionmaker, clock, name, user.id, ttl=timedelta(days=1))
    db = client.app[database_key]
    origin = Origin(client="test", ip="127.0.0.1")
    assert await service.logout_others(db, user_id=alice.id, keep_session="a1", origin=origin, now=clock()) == 2
    async with sessionmaker() as s:
        left = set((await s.scalars(select(WebSession.id))).all())
    assert left == {digest("a1"), digest("b1")}


async def test_purge_expired_sessions(sessionmaker: SM, clock: FrozenClock) -> None:
    await add_session(sessionmaker, clock, "old", None, ttl=timedelta(seconds=-1))
    await add_session(sessionmaker, clock, "new", None, ttl=timedelta(hours=1))
    async with sessionmaker.begin() as s:
        assert await purge_expired_sessions(s, now=clock()) == 1
    async with sessionmaker() as s:
        assert (await s.scalars(select(WebSession.id))).all() == [digest("new")]


async def test_a_session_expiring_this_instant_is_purged(sessionmaker: SM, clock: FrozenClock) -> None:
    await add_session(sessionmaker, clock, "edge", None, ttl=timedelta(0))  # expires_at == now: already over
    async with sessionmaker.begin() as s:
        assert await purge_expired_sessions(s, now=clock()) == 1


async def test_the_session_cookie_lives_as_long_as_the_session_and_an_odd_cookie_is_a_new_session(
    client: TestClient, sessionmaker: SM, clock: FrozenClock, settings: Settings
) -> None:
    await create_user(sessionmaker, clock)
    login = session_cookie((await AuthActions(client).login()).headers.getall("Set-Cookie"))[COOKIE_NAME]
    assert login["max-age"] == str(settings.session_max_age_s)  # persistent, not a browser-session cookie
    assert len(login.value) >= 20
    assert (await client.get("/api/me")).status == 200
    client.session.cookie_jar.clear()
    assert (await client.get("/api/me", headers={"Cookie": f"{COOKIE_NAME}={login.value}"})).status == 200
    for odd in ("x" * 19, "x" * 129, login.value[:19]):  # outside the key lengths: never looked up
        assert (await client.get("/api/me", headers={"Cookie": f"{COOKIE_NAME}={odd}"})).status == 401
