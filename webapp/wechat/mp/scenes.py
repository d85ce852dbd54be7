"""Follow-login scenes: signed like OAuth states, stored only when WeChat pushes the scan.

A scene is `random key + expiry + MAC`, 61 characters of `[A-Za-z0-9]` (WeChat's scene_str allows 64):
the MAC binds it to the browser that asked for the QR (its binding value, `webapp.browser`), so asking
for a QR writes nothing. The push handler (the push itself is signed by WeChat) stores the scene as
scanned, once; the bound browser then claims it with one atomic UPDATE.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.cookies import derive_key
from webapp.models import OAuthState
from webapp.security import random_alnum
from webapp.wechat.states import base36

FLOW = "mp_follow"
QR_TTL = timedelta(minutes=5)
CLAIM_WINDOW = timedelta(minutes=2)  # after a scan, the page has this long to log in
SCENE_RE = re.compile(r"([A-Za-z0-9]{22})([0-9a-z]{7})([0-9a-f]{32})", re.ASCII)
Status = Literal["pending", "scanned", "claimed", "login", "cancelled", "failed", "expired"]
ScanResult = Literal["scanned", "rescanned", "used", "expired"]


@dataclass(frozen=True)
class Scene:
    """A scene the page holds: its text and when its QR expires."""

    text: str
    expires_at: datetime


class SceneSigner:
    """Makes scenes for a browser and checks that a scene belongs to the browser presenting it."""

    def __init__(self, secret_key: str) -> None:
        self._key = derive_key(secret_key, "follow-scene")

    def issue(self, *, binding: str, now: datetime) -> Scene:
        """A new scene for this browser, valid for QR_TTL."""
        expires_at = now + QR_TTL
        body = random_alnum(22) + base36(int(expires_at.timestamp()), 7)
        return Scene(body + self._mac(body, binding), expires_at.replace(microsecond=0))

    def bound_to(self, scene: str, binding: str | None) -> bool:
        """True when the browser carrying `binding` asked for this scene."""
        match = SCENE_RE.fullmatch(scene)
        if match is None or not binding:
            return False
        return hmac.compare_digest(match.group(3), self._mac(scene[:29], binding))

    def _mac(self, body: str, binding: str) -> str:
        return hmac.digest(self._key, f"{body}|{binding}".encode("ascii", "replace"), "sha256").hex()[:32]


def expiry(scene: str) -> datetime | None:
    """When the scene's QR expires (None: not a scene of ours)."""
    match = SCENE_RE.fullmatch(scene)
    return datetime.fromtimestamp(int(match.group(2), 36), tz=UTC) if match else None


def wake_key(scene: str) -> str:
    """The notify key waiters of this scene listen on."""
    return f"scene:{scene}"


async def load(sm: async_sessionmaker[AsyncSession], scene: str) -> OAuthState | None:
    """The scene's row, whatever its state."""
    async with sm() as s:
        return await s.scalar(select(OAuthState).where(OAuthState.state == scene, OAuthState.flow == FLOW))


def status(scene: str, row: OAuthState | None, *, now: datetime) -> Status:
    """Where the scene stands, for the page (no row yet: nobody scanned it)."""
    if row is None:
        expires_at = expiry(scene)
        return "pending" if expires_at is not None and expires_at > now else "expired"
    if row.result is not None:
        kind = row.result.get("kind")
        return "login" if kind == "login" else "cancelled" if kind == "cancelled" else "failed"
    if row.consumed_at is not None:
        return "claimed"
    if row.expires_at <= now:
        return "expired"
    return "scanned" if row.scanned_at is not None else "pending"


async def mark_scanned(
    s: AsyncSession, *, scene: str, ticket: str, openid: str, appid: str, now: datetime
) -> ScanResult:
    """The scene's first scan stores it as scanned by `openid` (one statement); a repeat says what it found."""
    expires_at = expiry(scene)
    if expires_at is None or expires_at <= now:
        return "expired"
    t = OAuthState
    marked = await s.scalar(
        insert(t)
        .values(
            state=scene, purpose="login", flow=FLOW, appid=appid, next_path="/", browser_hash="", created_at=now,
            expires_at=func.greatest(expires_at, now + CLAIM_WINDOW), ticket=ticket, scanned_openid=openid,
            scanned_at=now,
        )
        .on_conflict_do_nothing(index_elements=[t.state])
        .returning(t.state)
    )
    if marked is not None:
        return "scanned"
    row = await s.scalar(select(t).where(t.state == scene, t.flow == FLOW))
    if row is None or row.expires_at <= now:
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


async def claim(sm: async_sessionmaker[AsyncSession], *, scene: str, now: datetime) -> OAuthState | None:
    """scanned → claimed, once (the caller checked the browser); None if that is not (or no longer) possible."""
    t = OAuthState
    async with sm.begin() as s:
        return await s.scalar(
            update(t)
            .where(
                t.state == scene,
                t.flow == FLOW,
                t.scanned_at.is_not(None),
                t.consumed_at.is_(None),
                t.expires_at > now,
            )
            .values(consumed_at=now)
            .returning(t)
        )


async def save_result(sm: async_sessionmaker[AsyncSession], scene: str, result: dict[str, Any]) -> None:
    """Record how the claim ended (so a repeated claim or wait gets the same answer)."""
    async with sm.begin() as s:
        await s.execute(update(OAuthState).where(OAuthState.state == scene).values(result=result))
