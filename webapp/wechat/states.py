"""OAuth `state`: random, single use, 10 minutes, bound to the browser that started the flow.

The payload (purpose, next, user for a bind, flow) stays here on the server; WeChat only sees the
random key. A state is created only when a flow really starts, and a client address may start only
so many per window (one counter row per address and window: bounded rows). Claiming is one atomic
UPDATE, so of two deliveries of the same callback exactly one exchanges the code; the other waits
for and reuses the first one's result.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
import orjson

from webapp.db import Database
from webapp.ratelimit import FLOW_WINDOW, window_start
from webapp.security import digest, random_alnum

STATE_TTL = timedelta(minutes=10)
STATE_PATTERN = re.compile(r"[A-Za-z0-9]{1,128}", re.ASCII)
Flow = Literal["qr", "embedded", "mp_base", "mp_userinfo", "mp_follow"]
Purpose = Literal["login", "bind", "reauth"]
_COLUMNS = "state, purpose, flow, appid, next_path, user_id, browser_hash, expires_at, consumed_at, code_hash, result"

_CREATE_SQL = """
WITH hit AS (
    INSERT INTO rate_limits AS r (key, window_start, count) VALUES ($1, $2, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
    RETURNING count
)
INSERT INTO oauth_states (state, purpose, flow, appid, next_path, user_id, browser_hash, created_at, expires_at)
SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM hit WHERE hit.count <= $3
RETURNING state
"""
# The happy path of a callback in one round trip: claim the live state for this code, if this browser
# started it (or it is an embedded QR, whose callback runs in WeChat's cookie-less iframe).
_CLAIM_SQL = f"""
UPDATE oauth_states SET consumed_at = $3, code_hash = $2
WHERE state = $1 AND consumed_at IS NULL AND expires_at > $3 AND (browser_hash = $4 OR flow = 'embedded')
  AND flow <> 'mp_follow'
RETURNING {_COLUMNS}
"""


@dataclass(frozen=True)
class StateRow:
    """A stored state and its server-side payload."""

    state: str
    purpose: Purpose
    flow: Flow
    appid: str
    next_path: str
    user_id: int | None
    browser_hash: str
    expires_at: datetime
    consumed_at: datetime | None
    code_hash: str | None
    result: dict[str, Any] | None

    def started_by(self, browser_nonce: str | None) -> bool:
        """True when this browser (its nonce cookie) started the flow."""
        return bool(browser_nonce) and self.browser_hash == digest(browser_nonce or "")


@dataclass(frozen=True)
class Claim:
    """Who gets to exchange a code: the owner, a repeat of the same code, a replay, or nobody."""

    kind: Literal["owner", "same_code", "replayed", "other_browser", "expired", "missing"]
    row: StateRow | None


def is_well_formed(state: str | None) -> bool:
    """True for `[A-Za-z0-9]{1,128}`, WeChat's official-account rule."""
    return bool(state) and STATE_PATTERN.fullmatch(state or "") is not None


async def create(
    conn: asyncpg.Connection,
    *,
    purpose: Purpose,
    flow: Flow,
    appid: str,
    next_path: str,
    browser_nonce: str,
    now: datetime,
    rate_key: str,
    limit: int,
    user_id: int | None = None,
) -> str | None:
    """Store a new state with its payload and return its key; None when `rate_key` is over its limit."""
    state = random_alnum(32)
    return await conn.fetchval(
        _CREATE_SQL, f"flow:{rate_key}", window_start(now, FLOW_WINDOW), limit,
        state, purpose, flow, appid, next_path, user_id, digest(browser_nonce), now, now + STATE_TTL,
    )


async def load_live(conn: asyncpg.Connection, state: str, *, now: datetime) -> StateRow | None:
    """The state if it exists and has not expired."""
    # Follow-login scenes share the table; they are never OAuth states.
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM oauth_states WHERE state = $1 AND expires_at > $2 AND flow <> 'mp_follow'", state, now
    )
    return _row(row)


async def claim(
    conn: asyncpg.Connection, state: str, *, code: str, browser_nonce: str | None, now: datetime
) -> Claim:
    """Atomically mark the state consumed by `code`; tell the caller whether it owns the exchange."""
    code_hash = digest(code)
    row = _row(await conn.fetchrow(_CLAIM_SQL, state, code_hash, now, digest(browser_nonce or "")))
    if row is not None:
        return Claim("owner", row)
    row = _row(await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM oauth_states WHERE state = $1 AND flow <> 'mp_follow'", state
    ))
    if row is None:
        return Claim("missing", None)
    if row.expires_at <= now:
        return Claim("expired", row)
    if row.consumed_at is None:
        return Claim("other_browser", row)
    return Claim("same_code" if row.code_hash == code_hash else "replayed", row)


async def save_result(conn: asyncpg.Connection, state: str, result: dict[str, Any]) -> None:
    """Record the outcome of the first delivery (a second delivery reads it)."""
    await conn.execute("UPDATE oauth_states SET result = $2 WHERE state = $1", state, orjson.dumps(result).decode())


async def wait_result(db: Database, state: str, *, timeout_s: float = 20.0) -> dict[str, Any] | None:
    """The first delivery's outcome, waiting (with backoff) while another request still works on it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = 0.02
    while True:
        async with db.connection() as conn:
            result = await conn.fetchval("SELECT result FROM oauth_states WHERE state = $1", state)
        if result is not None or loop.time() >= deadline:
            return result
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 2, 0.5)


async def mark_claimed(conn: asyncpg.Connection, state: str) -> bool:
    """Hand-off of an embedded login to the top window: true only the first time."""
    return bool(
        await conn.fetchval(
            """UPDATE oauth_states SET result = result || '{"claimed": true}'::jsonb
               WHERE state = $1 AND result IS NOT NULL AND NOT result ? 'claimed' RETURNING true""",
            state,
        )
    )


def _row(record: asyncpg.Record | None) -> StateRow | None:
    return StateRow(**dict(record)) if record is not None else None
