"""purge_expired removes what no longer matters and keeps what still does; security events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.accounts.helpers import SM, create_user
from webapp import events
from webapp.accounts import throttle
from webapp.clock import FrozenClock
from webapp.maintenance import PurgeResult, purge_expired
from webapp.models import LoginFailure, OAuthState, WebSession


def web_session(name: str, *, expires_at: datetime, clock: FrozenClock) -> WebSession:
    return WebSession(id=name, user_id=None, data={}, created_at=clock(), expires_at=expires_at)


def oauth_state(name: str, *, expires_at: datetime, clock: FrozenClock) -> OAuthState:
    return OAuthState(
        state=name,
        purpose="login",
        flow="qr",
        appid="wxapp",
        next_path="/",
        browser_hash="0" * 64,
        created_at=clock(),
        expires_at=expires_at,
    )


async def test_purge_expired_deletes_only_expired_rows(sessionmaker: SM, clock: FrozenClock) -> None:
    now = clock()
    async with sessionmaker.begin() as s:
        s.add_all(
            [
                web_session("expired", expires_at=now - timedelta(seconds=1), clock=clock),
                web_session("live", expires_at=now + timedelta(days=1), clock=clock),
                oauth_state("expired", expires_at=now - timedelta(minutes=61), clock=clock),
                oauth_state("recently-expired", expires_at=now - timedelta(minutes=1), clock=clock),
                oauth_state("live", expires_at=now + timedelta(minutes=9), clock=clock),
                LoginFailure(scope="user", key="old", failed_at=now - throttle.WINDOW - timedelta(seconds=1)),
                LoginFailure(scope="ip", key="fresh", failed_at=now - timedelta(minutes=1)),
            ]
        )
    assert await purge_expired(sessionmaker, now=now) == PurgeResult(
        sessions=1, login_failures=1, oauth_states=1, rate_limits=0
    )
    async with sessionmaker() as s:
        assert (await s.scalars(select(WebSession.id))).all() == ["live"]
        # An expired state is kept an hour, so a late link says "expired" rather than "not valid".
        assert sorted((await s.scalars(select(OAuthState.state))).all()) == ["live", "recently-expired"]
        assert (await s.scalars(select(LoginFailure.key))).all() == ["fresh"]
    assert await purge_expired(sessionmaker, now=now) == PurgeResult(
        sessions=0, login_failures=0, oauth_states=0, rate_limits=0
    )


async def test_sessions_expire_with_the_clock(sessionmaker: SM, clock: FrozenClock) -> None:
    async with sessionmaker.begin() as s:
        s.add(web_session("soon", expires_at=clock() + timedelta(hours=1), clock=clock))
    assert (await purge_expired(sessionmaker, now=clock())).sessions == 0
    assert (await purge_expired(sessionmaker, now=clock.advance(hours=1))).sessions == 1


async def test_recent_events_newest_first_and_limited(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await create_user(sessionmaker, clock)
    other = await create_user(sessionmaker, clock, username="bob")
    async with sessionmaker.begin() as s:
        for n in range(12):
            await events.record_event(
                s,
                user_id=user.id,
                kind="login",
                method="wechat_qr",
                client=f"c{n}",
                ip="192.0.2.1",
                now=clock.advance(minutes=1),
            )
        await events.record_event(s, user_id=other.id, kind="bind", method="wechat_mp", client="", ip="", now=clock())
    async with sessionmaker() as s:
        latest = await events.recent_events(s, user.id, 10)
    assert [e.client for e in latest] == [f"c{n}" for n in range(11, 1, -1)]


@pytest.mark.parametrize(("kind", "method"), [("hacked", "password"), ("login", "carrier-pigeon")])
async def test_record_event_refuses_unknown_kinds_and_methods(
    sessionmaker: SM, clock: FrozenClock, kind: str, method: str
) -> None:
    async with sessionmaker() as s:
        with pytest.raises(ValueError):
            await events.record_event(s, user_id=None, kind=kind, method=method, client="", ip="", now=clock())


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("Chrome on Windows", "Chrome on Windows"),
        ("Unknown client", "Unknown client"),
        ("", "Unknown client"),
        ("curl", "curl"),
    ],
)
def test_client_label(stored: str, shown: str) -> None:
    assert events.client_label(stored) == shown
