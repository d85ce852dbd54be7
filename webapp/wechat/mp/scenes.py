"""Follow-login scenes: one `oauth_states` row per QR (flow 'mp_follow'), with OAuth state's rules.

The scene is random, lives as long as its QR (5 minutes), is bound to the browser that asked for it
(sha256 of its nonce), and is used once. The push handler marks it scanned (only while pending and
unexpired, and only for its own Ticket); the bound browser then claims it with one atomic UPDATE.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.models import OAuthState
from webapp.security import digest

FLOW = "mp_follow"
QR_TTL = timedelta(minutes=5)
CLAIM_WINDOW = timedelta(minutes=2)  # after a scan, the page has this long to log in
SCENE_RE = re.compile(r"[A-Za-z0-9]{32}", re.ASCII)
Status = Literal["pending", "scanned", "claimed", "login", "cancelled", "failed", "expired"]
ScanResult = Literal["scanned", "rescanned", "used", "expired"]


def wake_key(scene: str) -> str:
    """The notify key waiters of this scene listen on."""
    return f"scene:{scene}"


async def create(
    sm: async_sessionmaker[AsyncSession],
    *,
    scene: str,
    ticket: str,
    appid: str,
    next_path: str,
    browser_nonce: str,
    now: datetime,
) -> None:
    """Store a new scene for the QR just created."""
    async with sm.begin() as s:
        s.add(
            OAuthState(
                state=scene,
                purpose="login",
                flow=FLOW,
                appid=appid,
                next_path=next_path,
                ticket=ticket,
                browser_hash=digest(browser_nonce),
                created_at=now,
                expires_at=now + QR_TTL,
            )
        )


async def load(sm: async_sessionmaker[AsyncSession], scene: str) -> OAuthState | None:
    """The scene's row, whatever its state."""
    async with sm() as s:
        return await s.scalar(select(OAuthState).where(OAuthState.state == scene, OAuthState.flow == FLOW))


def status(row: OAuthState | None, *, now: datetime) -> Status:
    """Where the scene stands, for the page."""
    if row is None:
        return "expired"
    if row.result is not None:
        kind = row.result.get("kind")
        return "login" if kind == "login" else "cancelled" if kind == "cancelled" else "failed"
    if row.consumed_at is not None:
        return "claimed"
    if row.expires_at <= now:
        return "expired"
    return "scanned" if row.scanned_at is not None else "pending"


def bound_to(row: OAuthState, browser_nonce: str | None) -> bool:
    """True when this browser asked for the QR."""
    return bool(browser_nonce) and row.browser_hash == digest(browser_nonce or "")


async def mark_scanned(s: AsyncSession, *, scene: str, ticket: str, openid: str, now: datetime) -> ScanResult:
    """pending → scanned by `openid`, atomically and only for the scene's own ticket."""
    if not SCENE_RE.fullmatch(scene):
        return "expired"
    t = OAuthState
    marked = await s.scalar(
        update(t)
        .where(
            t.state == scene,
            t.flow == FLOW,
            t.ticket == ticket,
            t.scanned_at.is_(None),
            t.consumed_at.is_(None),
            t.expires_at > now,
        )
        .values(scanned_openid=openid, scanned_at=now, expires_at=func.greatest(t.expires_at, now + CLAIM_WINDOW))
        .returning(t.state)
    )
    if marked is not None:
        return "scanned"
    row = await s.scalar(select(t).where(t.state == scene, t.flow == FLOW, t.ticket == ticket))
    if row is None or row.expires_at <= now or row.scanned_at is None:
        return "expired"
    return "rescanned" if row.scanned_openid == openid and row.consumed_at is None else "used"


async def cancel_scans_of(s: AsyncSession, *, openid: str, now: datetime) -> list[str]:
    """The scanner unfollowed before the page logged in: end those scenes; return them."""
    t = OAuthState
    rows = await s.scalars(
        update(t)
        .where(t.flow == FLOW, t.scanned_openid == openid, t.consumed_at.is_(None), t.expires_at > now)
        .values(consumed_at=now, result={"kind": "cancelled", "reason": "unfollowed"})
        .returning(t.state)
    )
    return list(rows)


async def claim(
    sm: async_sessionmaker[AsyncSession], *, scene: str, browser_nonce: str, now: datetime
) -> OAuthState | None:
    """scanned → claimed by the bound browser, once; None if that is not (or no longer) possible."""
    t = OAuthState
    async with sm.begin() as s:
        return await s.scalar(
            update(t)
            .where(
                t.state == scene,
                t.flow == FLOW,
                t.scanned_at.is_not(None),
                t.consumed_at.is_(None),
                t.browser_hash == digest(browser_nonce),
                t.expires_at > now,
            )
            .values(consumed_at=now)
            .returning(t)
        )


async def save_result(sm: async_sessionmaker[AsyncSession], scene: str, result: dict[str, Any]) -> None:
    """Record how the claim ended (so a repeated claim or wait gets the same answer)."""
    async with sm.begin() as s:
        await s.execute(update(OAuthState).where(OAuthState.state == scene).values(result=result))
