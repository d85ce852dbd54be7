"""Real simulator grants for N test users, and N due website-app identities holding them, bulk-inserted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from benchmarks.browser import expect
from benchmarks.database import asyncpg_dsn, column_names
from benchmarks.load import LoadResult, run_load
from webapp.crypto import TokenCipher
from webapp.wechat_sim import fixture

IDENTITY_COLUMNS = (
    "user_id", "appid", "app_kind", "openid", "nickname", "avatar_url", "scope", "access_token_enc",
    "refresh_token_enc", "access_expires_at", "refresh_expires_at", "status", "profile_synced_at",
    "created_at", "updated_at",
)


@dataclass(frozen=True)
class Grant:
    """What the simulator answered to one code exchange."""

    user: int
    openid: str
    access_token: str
    refresh_token: str


async def sns_get(http: aiohttp.ClientSession, sim: str, path: str, params: dict[str, str]) -> dict[str, Any]:
    """GET an /sns API of the simulator; raise on an errcode."""
    async with http.get(f"{sim}/sns/{path}", params=params) as resp:
        await expect(resp, 200, f"GET /sns/{path}")
        data: dict[str, Any] = await resp.json(content_type=None)
    if data.get("errcode"):
        raise RuntimeError(f"/sns/{path}: errcode {data['errcode']} {data.get('errmsg', '')}")
    return data


async def issue_grant(http: aiohttp.ClientSession, sim: str, user: int) -> Grant:
    """Have `user` authorize the website app (control API), then exchange the code like the site does."""
    async with http.post(f"{sim}/_sim/api/codes", json={"appid": fixture.WEBSITE_APPID, "user": user}) as resp:
        await expect(resp, 200, "POST /_sim/api/codes")
        code = (await resp.json())["code"]
    params = {"appid": fixture.WEBSITE_APPID, "secret": fixture.WEBSITE_SECRET, "code": code,
              "grant_type": "authorization_code"}
    data = await sns_get(http, sim, "oauth2/access_token", params)
    return Grant(user, data["openid"], data["access_token"], data["refresh_token"])


async def issue_grants(
    http: aiohttp.ClientSession, sim: str, users: range, concurrency: int
) -> tuple[list[Grant], LoadResult]:
    """One real grant per user in `users`."""
    grants: list[Grant] = []

    async def one(index: int) -> None:
        grants.append(await issue_grant(http, sim, users[index]))

    result = await run_load(one, concurrency=concurrency, duration_s=3600.0, max_ops=len(users))
    return grants, result


async def insert_due_identities(url: str, grants: list[Grant], cipher: TokenCipher) -> None:
    """One user per grant (INSERT … SELECT), then their identities with COPY, every access token already due."""
    now = datetime.now(UTC)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            user_ids = [r["id"] for r in await conn.fetch(
                "INSERT INTO users (display_name, created_at, updated_at) "
                "SELECT 'bench ' || g, $2, $2 FROM generate_series(1, $1) AS g RETURNING id", len(grants), now)]
            rows = [_identity_row(uid, g, cipher, now) for uid, g in zip(user_ids, grants, strict=True)]
            columns = IDENTITY_COLUMNS
            if "refresh_due_at" in await column_names(conn, "wechat_identities"):  # the refresher's own due time
                columns, rows = (*columns, "refresh_due_at"), [(*row, now - timedelta(minutes=1)) for row in rows]
            await conn.copy_records_to_table("wechat_identities", records=rows, columns=columns)
        await conn.execute("ANALYZE users; ANALYZE wechat_identities")
    finally:
        await conn.close()


def _identity_row(user_id: int, grant: Grant, cipher: TokenCipher, now: datetime) -> tuple[Any, ...]:
    """A website-app identity whose access token expired a minute ago and whose profile is fresh."""
    return (user_id, fixture.WEBSITE_APPID, "website", grant.openid, f"bench{grant.user}", "", "snsapi_login",
            cipher.encrypt(grant.access_token), cipher.encrypt(grant.refresh_token), now - timedelta(minutes=1),
            now + timedelta(days=30), "active", now, now, now)


async def raw_refresh_rate(http: aiohttp.ClientSession, sim: str, grants: list[Grant], *, concurrency: int,
                           duration_s: float) -> LoadResult:
    """Hammer /sns/oauth2/refresh_token directly with the grants' refresh tokens, round-robin."""

    async def one(index: int) -> None:
        grant = grants[index % len(grants)]
        params = {"appid": fixture.WEBSITE_APPID, "grant_type": "refresh_token", "refresh_token": grant.refresh_token}
        data = await sns_get(http, sim, "oauth2/refresh_token", params)
        if data.get("openid") != grant.openid:
            raise RuntimeError("refresh answered another openid")

    return await run_load(one, concurrency=concurrency, duration_s=duration_s)
