"""The token refresher: claim due identities under a lease, refresh them with WeChat, store the results.

Several workers may run against one database. A row is claimed by one UPDATE over
`SELECT ... FOR UPDATE SKIP LOCKED` that moves its `refresh_due_at` past a lease, so no two workers
hold the same row. The next batch is claimed while the current one's WeChat calls are in flight, so
WeChat never waits for the database. Results are stored in batches, each row only if its
refresh_token ciphertext is still the one used (a login meanwhile is never overwritten). A row that
fails, for whatever reason, is recorded with the reason and retried after a growing backoff; it never
holds up the others. Grants of accounts not seen for `active_days` are parked (no WeChat calls) until
their owner comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta

import asyncpg

from webapp.crypto import InvalidToken, TokenCipher
from webapp.db import Database, loggable
from webapp.settings import Settings, WeChatAppConfig
from webapp.wechat import refresh_sql as sql
from webapp.wechat.client import WeChatClient
from webapp.wechat.errors import Misconfigured, ReauthRequired, ScopeUnauthorized, WeChatError
from webapp.wechat.logins import REFRESH_HORIZON
from webapp.wechat.schemas import AppKind, OAuthToken, WeChatApp, WeChatProfile

logger = logging.getLogger("webapp.wechat.refresher")


@dataclass(frozen=True)
class RefreshPolicy:
    """How much the refresher does and how often: see the README's Performance section for the load at scale."""

    batch: int = 200
    lease: timedelta = timedelta(minutes=2)
    concurrency: int = 20
    profile_max_age: timedelta = timedelta(hours=24)
    active_days: int = 30
    backoff_first: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=6)

    def backoff(self, failures: int) -> timedelta:
        """The wait after the n-th failure in a row: doubling from backoff_first up to backoff_max."""
        doubled: timedelta = self.backoff_first * 2 ** min(max(failures - 1, 0), 20)
        return min(doubled, self.backoff_max)


@dataclass(frozen=True)
class RefreshReport:
    """What a pass did. `skipped`: claimed but left alone (changed meanwhile); `parked`: inactive accounts."""

    claimed: int = 0
    refreshed: int = 0
    reauth_required: int = 0
    failed: int = 0
    skipped: int = 0
    parked: int = 0
    profiles_synced: int = 0

    def __add__(self, other: RefreshReport) -> RefreshReport:
        return RefreshReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __str__(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


@dataclass(frozen=True)
class Result:
    """One claimed row's fate: refreshed (token, profile?), reauth, parked, or failed with a reason."""

    row: asyncpg.Record
    kind: str
    token: OAuthToken | None = None
    profile: WeChatProfile | None = None
    reason: str = ""
    refresh_token_plain: str | None = field(default=None, repr=False)  # what the row held, decrypted


def configured_apps(settings: Settings) -> dict[str, WeChatApp]:
    """The WeChat apps this site is configured with, by appid."""
    configs: tuple[tuple[WeChatAppConfig | None, AppKind], ...] = (
        (settings.wechat_web, "website"),
        (settings.wechat_mp, "official_account"),
    )
    return {c.appid: WeChatApp(c.appid, c.secret, kind) for c, kind in configs if c is not None and c.appid}


async def refresh_due(
    db: Database,
    client: WeChatClient,
    cipher: TokenCipher,
    apps: Mapping[str, WeChatApp],
    *,
    clock: Callable[[], datetime],
    policy: RefreshPolicy = RefreshPolicy(),
    max_rows: int | None = None,
) -> RefreshReport:
    """Refresh everything due now (up to `max_rows`), claiming ahead while WeChat calls are in flight."""
    if not apps:
        return RefreshReport()
    worker = _Pass(db, client, cipher, apps, clock=clock, policy=policy)
    return await worker.run(max_rows)


class _Pass:
    """One pass: a claimer keeping work ahead of `concurrency` WeChat calls, and a storer behind them."""

    def __init__(
        self, db: Database, client: WeChatClient, cipher: TokenCipher, apps: Mapping[str, WeChatApp], *,
        clock: Callable[[], datetime], policy: RefreshPolicy,
    ) -> None:
        self.db, self.client, self.cipher, self.apps = db, client, cipher, apps
        self.clock, self.policy = clock, policy
        self.report = RefreshReport()

    async def run(self, max_rows: int | None) -> RefreshReport:
        """Keep `concurrency` WeChat calls in flight; claims and stores run beside them, never in their way."""
        batch, concurrency = self.policy.batch, self.policy.concurrency
        backlog: deque[asyncpg.Record] = deque()
        calls: set[asyncio.Task[Result]] = set()
        stores: set[asyncio.Task[None]] = set()
        claiming: asyncio.Task[list[asyncpg.Record]] | None = None
        done: list[Result] = []
        exhausted = False
        while True:
            if claiming is None and not exhausted and len(backlog) < batch and not self._enough(max_rows):
                claiming = asyncio.create_task(self._claim())
            while backlog and len(calls) < concurrency:
                calls.add(asyncio.create_task(self._one(backlog.popleft())))
            drained = not calls and not backlog and claiming is None
            if len(done) >= batch or (done and drained):
                stores.add(asyncio.create_task(self._store(done)))
                done = []
            if drained:
                break
            finished, _pending = await asyncio.wait({*calls, *filter(None, [claiming])}, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                if task is claiming:
                    rows = claiming.result()
                    backlog.extend(rows)
                    exhausted, claiming = len(rows) < batch, None
                else:
                    calls.discard(task)
                    done.append(task.result())  # type: ignore[arg-type]
        await asyncio.gather(*stores)
        return self.report

    def _enough(self, max_rows: int | None) -> bool:
        return max_rows is not None and self.report.claimed >= max_rows

    async def _claim(self) -> list[asyncpg.Record]:
        now = self.clock()
        async with self.db.connection() as conn:
            rows = await conn.fetch(sql.CLAIM, now, now + self.policy.lease, list(self.apps), self.policy.batch)
        self._count(claimed=len(rows))
        return list(rows)

    async def _one(self, row: asyncpg.Record) -> Result:
        try:
            return await self._refresh(row)
        except Exception as exc:
            logger.error("identity %d: unexpected error while refreshing", row["id"], exc_info=loggable(exc))
            return Result(row, "failed", reason=f"unexpected:{type(exc).__name__}"[:64])

    async def _refresh(self, row: asyncpg.Record) -> Result:
        now = self.clock()
        if row["refresh_expires_at"] is not None and row["refresh_expires_at"] <= now:
            return Result(row, "reauth")  # past its fixed 30 days the refresh_token is dead: no point asking
        if row["last_seen_at"] < now - timedelta(days=self.policy.active_days):
            return Result(row, "parked")
        try:
            refresh_token = self.cipher.decrypt(row["refresh_token_enc"])
        except InvalidToken:
            # Not reauth_required: the likely cause is an old key dropped from TOKEN_KEYS (see rotate-keys).
            logger.warning("identity %d: refresh_token does not decrypt with any TOKEN_KEYS key", row["id"])
            return Result(row, "failed", reason="undecryptable")
        try:
            token = await self.client.refresh(self.apps[row["appid"]], refresh_token, openid=row["openid"])
        except ReauthRequired as exc:
            logger.info("identity %d: refresh_token refused (errcode %s): reauth required", row["id"], exc.errcode)
            return Result(row, "reauth")
        except Misconfigured as exc:
            logger.error("identity %d: appid %s is misconfigured: errcode %s", row["id"], row["appid"], exc.errcode)
            return Result(row, "failed", reason=f"misconfigured:{exc.errcode}")
        except WeChatError as exc:
            logger.warning("identity %d: refresh failed, retried after a backoff: %s", row["id"], type(exc).__name__)
            return Result(row, "failed", reason=_reason(exc))
        profile = await self._profile(row, token, now)
        return Result(row, "refreshed", token=token, profile=profile, refresh_token_plain=refresh_token)

    async def _profile(self, row: asyncpg.Record, token: OAuthToken, now: datetime) -> WeChatProfile | None:
        """The profile, when the scope allows it and it was asked for or is a day old; None otherwise."""
        synced = row["profile_synced_at"]
        wanted = row["profile_sync_requested_at"] is not None or synced is None or synced <= now - self.policy.profile_max_age
        if not wanted or not (token.allows_profile() or "snsapi_login" in row["scope"] or "snsapi_userinfo" in row["scope"]):
            return None
        try:
            return await self.client.user_info(token.access_token, row["openid"])
        except ScopeUnauthorized:
            return None
        except WeChatError as exc:
            logger.warning("identity %d: profile sync failed, kept the old profile: %s", row["id"], type(exc).__name__)
            return None

    async def _store(self, results: Sequence[Result]) -> None:
        """Write a batch of results; if the batch cannot be written, each row alone (a bad row fails alone)."""
        if not results:
            return
        try:
            await self._write(results)
        except (asyncpg.PostgresError, ValueError, UnicodeError) as exc:
            # Not logger.exception: PostgreSQL's DETAIL would quote the row (openid, ciphertexts, avatar URL).
            logger.error("storing %d refresh results failed; storing them one by one", len(results),
                         exc_info=loggable(exc))
            for result in results:
                try:
                    await self._write([result])
                except (asyncpg.PostgresError, ValueError, UnicodeError) as exc:
                    logger.error("identity %d: result could not be stored: %s", result.row["id"], type(exc).__name__)
                    await self._write([replace(result, kind="failed", token=None, profile=None, reason="store_failed")])

    async def _write(self, results: Sequence[Result]) -> None:
        now = self.clock()
        refreshed = [r for r in results if r.kind == "refreshed"]
        failed = [r for r in results if r.kind == "failed"]
        async with self.db.connection() as conn, conn.transaction():
            stored = await sql.store_refreshed(conn, self.cipher, refreshed, now=now, horizon=REFRESH_HORIZON)
            reauth = await sql.mark_reauth(conn, [r.row for r in results if r.kind == "reauth"], now=now)
            parked = await sql.park(conn, [r.row for r in results if r.kind == "parked"], now=now)
            await sql.record_failures(conn, [(r.row, r.reason, now + self.policy.backoff(r.row["refresh_failures"] + 1))
                                             for r in failed], now=now)
        synced = sum(1 for r in refreshed if r.profile is not None and r.row["id"] in stored)
        self._count(refreshed=len(stored), reauth_required=reauth, parked=parked, failed=len(failed),
                    skipped=len(refreshed) - len(stored), profiles_synced=synced)

    def _count(self, **counts: int) -> None:
        self.report = self.report + RefreshReport(**counts)


def _reason(exc: WeChatError) -> str:
    """A short, storable reason: the error class and WeChat's errcode (never a message that might echo input)."""
    code = f":{exc.errcode}" if exc.errcode is not None else ""
    return f"{type(exc).__name__}{code}"[:64]
