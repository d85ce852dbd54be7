"""Drive the account pages like a browser: fetch a form, take its CSRF token, post it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import CHEAP_ARGON2
from webapp.accounts import forms
from webapp.clock import FrozenClock
from webapp.models import User, WebSession
from webapp.security import digest, hash_password, random_token
from webapp.sessions import COOKIE_NAME

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"
SM = async_sessionmaker[AsyncSession]


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


class AuthActions:
    """One browser (one cookie jar) using the site's account forms."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def token(self, path: str = "/login") -> str:
        """GET a page and return the CSRF token of its forms."""
        response = await self.client.get(path)
        return csrf_from(await response.text())

    async def post(self, path: str, data: dict[str, Any] | None = None, *, form_page: str = "/login") -> ClientResponse:
        """POST a form with the session's CSRF token, without following the redirect."""
        payload = {"csrf_token": await self.token(form_page), **(data or {})}
        return await self.client.post(path, data=payload, allow_redirects=False)

    async def signup(
        self, username: str = "alice", password: str = PASSWORD, *, confirm: str | None = None, **extra: str
    ) -> ClientResponse:
        """Submit the sign-up form."""
        data = {
            "username": username,
            "password": password,
            "confirm": password if confirm is None else confirm,
            **extra,
        }
        return await self.post("/signup", data, form_page="/signup")

    async def login(self, username: str = "alice", password: str = PASSWORD, **extra: str) -> ClientResponse:
        """Submit the login form."""
        return await self.post("/login", {"username": username, "password": password, **extra})

    async def logout(self) -> ClientResponse:
        """Submit the logout button (its token comes from the home page's nav)."""
        return await self.post("/logout", form_page="/")

    def session_cookie(self) -> str | None:
        """The current session cookie value, if any."""
        for cookie in self.client.session.cookie_jar:
            if cookie.key == COOKIE_NAME:
                return cookie.value
        return None


async def create_user(
    sm: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    *,
    username: str | None = "alice",
    password: str | None = PASSWORD,
    display_name: str = "",
) -> User:
    """Insert a user directly (no HTTP); a None password makes a WeChat-only account."""
    async with sm.begin() as s:
        user = User(
            username=username,
            username_key=forms.username_key(username) if username else None,
            password_hash=hash_password(password, CHEAP_ARGON2) if password else None,
            display_name=display_name,
            created_at=clock(),
            updated_at=clock(),
            last_seen_at=clock(),
        )
        s.add(user)
        await s.flush()
        return user


def prefer_english(client: TestClient) -> None:
    """Make this browser remember English (the default language is Chinese)."""
    client.session.cookie_jar.update_cookies({"lang": "en"})


async def login_as(client: TestClient, sm: async_sessionmaker[AsyncSession], clock: FrozenClock, user: User) -> str:
    """Give this browser a logged-in session without a password (as a WeChat login would); return its cookie."""
    key = random_token()
    async with sm.begin() as s:
        s.add(
            WebSession(
                id=digest(key),
                user_id=user.id,
                data={"uid": user.id, "csrf": random_token(), "auth_at": clock().timestamp()},
                created_at=clock(),
                expires_at=clock() + timedelta(days=1),
            )
        )
    client.session.cookie_jar.update_cookies({COOKIE_NAME: key})
    return key


async def session_row(sm: async_sessionmaker[AsyncSession], key: str | None) -> WebSession | None:
    """The server side of a session cookie, if it exists."""
    if key is None:
        return None
    async with sm() as s:
        return await s.get(WebSession, digest(key))
