"""Periodic clean-up of rows that no longer matter: expired sessions, old login failures, expired states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.accounts.throttle import purge_old_failures
from webapp.db import rowcount
from webapp.models import OAuthState
from webapp.ratelimit import purge_old_windows
from webapp.sessions import purge_expired_sessions

# Expired states are kept a little, so a late link says "expired" rather than "not valid".
STATE_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class PurgeResult:
    """How many rows of each kind were deleted."""

    sessions: int
    login_failures: int
    oauth_states: int
    rate_limits: int


async def purge_expired(sm: async_sessionmaker[AsyncSession], *, now: datetime) -> PurgeResult:
    """Delete everything expired as of `now`, in one transaction."""
    async with sm.begin() as s:
        sessions = await purge_expired_sessions(s, now=now)
        failures = await purge_old_failures(s, now=now)
        states = await s.execute(delete(OAuthState).where(OAuthState.expires_at <= now - STATE_GRACE))
        counters = await purge_old_windows(s, now=now)
    return PurgeResult(sessions=sessions, login_failures=failures, oauth_states=rowcount(states),
                       rate_limits=counters)
