"""The account's sessions on the settings page: device and times, this one marked, each ended on its own."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from tests.accounts.helpers import SM, AuthActions, create_user, prefer_english, session_row
from webapp.clock import FrozenClock
from webapp.models import SecurityEvent, WebSession

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
HANDLE = re.compile(r'name="session" value="([0-9a-f]{16})"')


@pytest.fixture
def auth(client: TestClient) -> AuthActions:
    prefer_english(client)
    client.session.headers["User-Agent"] = WINDOWS
    return AuthActions(client)


async def phone(aiohttp_client, auth: AuthActions) -> AuthActions:  # type: ignore[no-untyped-def]
    other = await aiohttp_client(auth.client.server, headers={"User-Agent": IPHONE})
    prefer_english(other)
    actions = AuthActions(other)
    assert (await actions.login()).status == 302
    return actions


async def test_every_session_is_listed_with_its_device_and_times_this_one_first(
    auth: AuthActions, aiohttp_client, sessionmaker: SM, clock: FrozenClock  # type: ignore[no-untyped-def]
) -> None:
    await create_user(sessionmaker, clock)
    await phone(aiohttp_client, auth)
    clock.advance(hours=1)
    await auth.login()
    page = await (await auth.client.get("/settings", headers={"Cookie": "tz=Asia%2FShanghai; lang=en"})).text()
    sessions = page[page.index('id="sessions"'):page.index('id="activity"')]
    assert sessions.index("Chrome on Windows") < sessions.index("Safari on iPhone")
    assert sessions.count('<li class="session') == 2 and sessions.count("This device") == 1
    assert "Active now" in sessions
    # 12:00 UTC is 20:00 in Shanghai: times are the reader's.
    assert "Last active Nov 20, 2026 20:00" in sessions and "Logged in Nov 20, 2026 21:00" in sessions
    assert len(HANDLE.findall(sessions)) == 1  # the other session is ended by its handle…
    assert 'action="/logout"' in sessions and 'id="logout-this"' in sessions  # …this one by logging out


async def test_ending_one_session_logs_that_device_out_and_no_other(
    auth: AuthActions, aiohttp_client, sessionmaker: SM, clock: FrozenClock  # type: ignore[no-untyped-def]
) -> None:
    await create_user(sessionmaker, clock)
    iphone = await phone(aiohttp_client, auth)
    third = AuthActions(await aiohttp_client(auth.client.server))
    await third.login()
    await auth.login()
    page = await (await auth.client.get("/settings")).text()
    iphone_handle = next(h for h in HANDLE.findall(page) if h in page[page.index("Safari on iPhone") - 600:][:1200])
    response = await auth.post("/settings/sessions/end", {"session": iphone_handle}, form_page="/settings")
    assert (response.status, response.headers["Location"]) == (302, "/settings#sessions")
    assert "That session has been logged out." in await (await auth.client.get("/settings")).text()
    assert await session_row(sessionmaker, iphone.session_cookie()) is None
    assert (await iphone.client.get("/api/me")).status == 401
    assert (await third.client.get("/api/me")).status == 200 and (await auth.client.get("/api/me")).status == 200
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).where(SecurityEvent.kind == "session_ended")) == 1


@pytest.mark.parametrize("handle", ["", "0123456789abcdef", "not-a-handle", "x" * 500])
async def test_an_unknown_or_malformed_session_is_already_ended(auth: AuthActions, handle: str) -> None:
    await auth.signup()
    response = await auth.post("/settings/sessions/end", {"session": handle}, form_page="/settings")
    assert response.headers["Location"] == "/settings#sessions"
    assert "That session had already ended." in await (await auth.client.get("/settings")).text()
    assert (await auth.client.get("/api/me")).status == 200


async def test_this_session_and_other_peoples_sessions_cannot_be_ended_here(
    auth: AuthActions, aiohttp_client, sessionmaker: SM, clock: FrozenClock  # type: ignore[no-untyped-def]
) -> None:
    await create_user(sessionmaker, clock, username="bob")
    bob = AuthActions(await aiohttp_client(auth.client.server))
    await bob.login("bob")
    await auth.signup("alice")
    async with sessionmaker() as s:
        handles = {row.user_id: row.id[:16] for row in (await s.scalars(select(WebSession))).all()}
    for handle in handles.values():
        await auth.post("/settings/sessions/end", {"session": handle}, form_page="/settings")
    assert (await bob.client.get("/api/me")).status == 200
    assert (await auth.client.get("/api/me")).status == 200
