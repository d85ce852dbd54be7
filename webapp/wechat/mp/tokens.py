"""The official account's interface token, shared by every process through `wechat_app_tokens`.

One fetch per expiry: a process that finds the stored token due takes a lease with one atomic
UPDATE and calls stable_token (normal mode); the others wait for its NOTIFY (or poll) and reuse the
stored token. After a 40001 on the very token still stored, normal mode is asked again (another server
may have rotated it); force_refresh only if WeChat hands back the refused token. Stored encrypted, never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.crypto import InvalidToken, TokenCipher
from webapp.models import AppToken
from webapp.wechat.mp import notify
from webapp.wechat.mp.api import MpApi
from webapp.wechat.mp.errors import KeyMissing, MpUnavailable, TokenRejected
from webapp.wechat.schemas import WeChatApp

REFRESH_MARGIN = timedelta(minutes=2)  # stable_token rotates in the last 5 minutes; both tokens work
LEASE = timedelta(seconds=30)
WAIT_S = 20.0
log = logging.getLogger("webapp.wechat.mp")
T = TypeVar("T")


@dataclass(frozen=True)
class _Stored:
    value: str = field(repr=False)
    enc: str = field(repr=False)


class AppTokens:
    """get-or-refresh of one app's interface token, single-flight across processes."""

    def __init__(
        self,
        sm: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        api: MpApi,
        notifier: notify.Notifier,
        clock: Callable[[], datetime],
        app: WeChatApp,
    ) -> None:
        self._sm, self._cipher, self._api, self._notifier, self._clock, self.app = sm, cipher, api, notifier, clock, app
        self._key = f"token:{app.appid}"
        self._lock = asyncio.Lock()  # one refresher per process; the lease makes it one per database
        self._undecryptable: str | None = None  # the stored value that last failed to decrypt (logged once)

    async def call(self, use: Callable[[str], Awaitable[T]]) -> T:
        """Run `use(token)`; when WeChat rejects the token, get another once and run it again."""
        token = await self._get(rejected=None)
        try:
            return await use(token.value)
        except TokenRejected as exc:
            log.warning("interface token of %s rejected (errcode %s); getting another", self.app.appid, exc.errcode)
            token = await self._get(rejected=token, force=exc.needs_force_refresh)
            return await use(token.value)

    async def _get(self, *, rejected: _Stored | None, force: bool = False) -> _Stored:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        async with self._notifier.watch(self._key) as woken:
            while True:
                woken.clear()
                stored = await self._read()
                if stored is not None and (rejected is None or stored.enc != rejected.enc):
                    return stored
                async with self._lock:
                    lease = await self._lease(rejected)
                    if lease == "ours":
                        return await self._fetch(force=force, rejected=rejected)
                if lease == "not_needed":
                    continue  # someone stored a fresh token between our read and our UPDATE
                if loop.time() >= deadline:
                    raise MpUnavailable("timed out waiting for another process's stable_token call")
                await self._notifier.wait(woken, min(LEASE.total_seconds(), deadline - loop.time()))

    async def _read(self) -> _Stored | None:
        """The stored token if it is not yet due; None otherwise."""
        async with self._sm() as s:
            row = await s.get(AppToken, self.app.appid)
        if row is None or row.token_enc is None or row.expires_at is None:
            return None
        if row.expires_at - REFRESH_MARGIN <= self._clock():
            return None
        try:
            return _Stored(self._cipher.decrypt(row.token_enc), row.token_enc)
        except InvalidToken:
            # Mid-way through a key rotation this process may lack the new key: fail fast (the stored token is
            # still good for processes that have it) and say so once per stored value, not once per request.
            if self._undecryptable != row.token_enc:
                self._undecryptable = row.token_enc
                log.error(
                    "stored interface token of %s does not decrypt with this process's TOKEN_KEYS "
                    "(a key rotation this process does not know yet?): follow-login and pushes answer 503 "
                    "until it has the key", self.app.appid,
                )
            raise KeyMissing(f"the stored interface token of {self.app.appid} needs a key this process lacks") from None

    async def _lease(self, rejected: _Stored | None) -> Literal["ours", "held", "not_needed"]:
        """Atomically become the one process that fetches, or say why not."""
        now = self._clock()
        t = AppToken
        still_needed = (
            t.token_enc == rejected.enc
            if rejected is not None
            else or_(t.token_enc.is_(None), t.expires_at.is_(None), t.expires_at <= now + REFRESH_MARGIN)
        )
        async with self._sm.begin() as s:
            await s.execute(insert(t).values(appid=self.app.appid, updated_at=now).on_conflict_do_nothing())
            taken = await s.scalar(
                update(t)
                .where(t.appid == self.app.appid, or_(t.lease_until.is_(None), t.lease_until <= now), still_needed)
                .values(lease_until=now + LEASE)
                .returning(t.appid)
            )
            if taken is not None:
                return "ours"
            lease_until = await s.scalar(select(t.lease_until).where(t.appid == self.app.appid))
        return "held" if lease_until is not None and lease_until > now else "not_needed"

    async def _fetch(self, *, force: bool, rejected: _Stored | None) -> _Stored:
        """Call stable_token under our lease, store the answer, and tell every process."""
        issued_at = self._clock()
        try:
            token = await self._api.stable_token(self.app)
            if force and rejected is not None and token.access_token == rejected.value:
                # Rationed (20 a day) and it cuts every other server's token short: only when normal mode
                # hands back the very token WeChat just refused.
                token = await self._api.stable_token(self.app, force_refresh=True)
        except BaseException:
            await self._release()
            raise
        stored = _Stored(token.access_token, self._cipher.encrypt(token.access_token))
        async with self._sm.begin() as s:
            await s.execute(
                update(AppToken)
                .where(AppToken.appid == self.app.appid)
                .values(
                    token_enc=stored.enc,
                    expires_at=issued_at + timedelta(seconds=token.expires_in),
                    lease_until=None,
                    updated_at=self._clock(),
                )
            )
            await notify.notify(s, self._key)
        self._notifier.wake(self._key)
        log.info("interface token of %s stored, %ds to live", self.app.appid, token.expires_in)
        return stored

    async def _release(self) -> None:
        async with self._sm.begin() as s:
            await s.execute(update(AppToken).where(AppToken.appid == self.app.appid).values(lease_until=None))
            await notify.notify(s, self._key)
        self._notifier.wake(self._key)

    async def stored_expiry(self) -> datetime | None:
        """When the stored token expires (for diagnostics and tests)."""
        async with self._sm() as s:
            return await s.scalar(select(AppToken.expires_at).where(AppToken.appid == self.app.appid))
