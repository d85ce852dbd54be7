"""QR login sessions and their long-poll state machine (408 → 404 → 405, 403, 402)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from webapp.wechat_sim import ids
from webapp.wechat_sim.expiry import ExpiringStore
from webapp.wechat_sim.fixture import SimApp

WAITING, SCANNED, CANCELLED, CONFIRMED, EXPIRED, ERROR = 408, 404, 403, 405, 402, 500
QR_TTL_S = 300.0


class QrActionError(Exception):
    """A phone action that does not fit the session's state."""


@dataclass
class QrSession:
    """One QR code shown by /connect/qrconnect."""

    uuid: str
    app: SimApp
    redirect_uri: str
    state: str
    expires_at: float
    status: int = WAITING
    user_id: int | None = None
    code: str = ""
    lang: str = "zh_CN"
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def set_status(self, status: int) -> None:
        """Move to `status` and wake every poll waiting on the old one."""
        self.status = status
        self.changed.set()
        self.changed = asyncio.Event()


def redirect_target(redirect_uri: str, code: str, state: str) -> str:
    """Append code and state to the END of redirect_uri, as the QR page does (even after a #fragment)."""
    sep = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{sep}code={code}&state={state}"


class QrBook:
    """QR sessions by uuid; each is purged 300 s after creation."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.sessions: ExpiringStore[str, QrSession] = ExpiringStore(now)

    def create(self, app: SimApp, redirect_uri: str, state: str, lang: str = "zh_CN") -> QrSession:
        """Start a QR session for this authorization request; its phone page speaks `lang`."""
        session = QrSession(ids.new_uuid(), app, redirect_uri, state, self.now() + QR_TTL_S, lang=lang)
        self.sessions.put(session.uuid, session, session.expires_at)
        return session

    def get(self, uuid: str) -> QrSession | None:
        """Return the live session, or None (unknown or expired)."""
        return self.sessions.get(uuid)

    async def poll(self, uuid: str, last: int, hold_s: float) -> tuple[int, str]:
        """Return (wx_errcode, wx_code) at once if it differs from `last`, else after a change or hold_s."""
        session = self.get(uuid)
        if session is None:
            return EXPIRED, ""
        if session.status == last and session.status != CONFIRMED:
            waiter = session.changed
            timeout = min(hold_s, max(session.expires_at - self.now(), 0.0))
            try:
                await asyncio.wait_for(waiter.wait(), timeout)
            except TimeoutError:
                pass
            if self.get(uuid) is None:
                return EXPIRED, ""
        if session.status == last and last != CONFIRMED:
            return WAITING, ""
        return session.status, session.code if session.status == CONFIRMED else ""

    def scan(self, session: QrSession, user_id: int) -> None:
        """The phone scanned the code as `user_id`."""
        if session.status == CONFIRMED:
            raise QrActionError("already confirmed")
        session.user_id = user_id
        session.set_status(SCANNED)

    def cancel(self, session: QrSession, user_id: int | None) -> None:
        """The phone refused the login."""
        self._check_scanned(session, user_id)
        session.set_status(CANCELLED)

    def confirm(self, session: QrSession, user_id: int | None, code: str) -> str:
        """The phone allowed the login; return where the browser is sent."""
        self._check_scanned(session, user_id)
        session.code = code
        session.set_status(CONFIRMED)
        return redirect_target(session.redirect_uri, code, session.state)

    def _check_scanned(self, session: QrSession, user_id: int | None) -> None:
        """Refuse confirm/cancel unless this user has scanned and not yet answered."""
        if session.status != SCANNED:
            raise QrActionError("scan first")
        if user_id is not None and user_id != session.user_id:
            raise QrActionError("another user scanned this code")

    def wake_all(self) -> None:
        """Wake every held poll (on reset)."""
        for session in self.sessions.values():
            session.changed.set()
