"""OAuth `state`: signed, 10 minutes, bound to the browser that started the flow, and stored only at the callback.

Starting a flow writes nothing. The state is `flow letter + random key + expiry + two MACs`, all
`[A-Za-z0-9]` (WeChat's official-account rule, at most 128): the first MAC proves the site issued it
(enough for the embedded QR's callback, which runs in WeChat's cookie-less iframe), the second ties it
to the browser's binding value (`webapp.browser`). Nothing in it tells WeChat or a URL log the account,
the next path or the purpose: those stay in the starting browser's flow cookie (`flowcookie.py`).

Single use is enforced when WeChat calls back with a code: the callback inserts the claim row keyed by
the state's random key (`ON CONFLICT DO NOTHING`), so of two deliveries exactly one exchanges the code;
the other waits for the first one's result. A claim whose exchange failed is deleted again, so junk
callbacks leave no rows: rows are bounded by real scans.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
import orjson

from webapp.cookies import derive_key
from webapp.db import Database
from webapp.security import digest, random_alnum

STATE_TTL = timedelta(minutes=10)
STATE_PATTERN = re.compile(r"[A-Za-z0-9]{1,128}", re.ASCII)
Flow = Literal["qr", "embedded", "mp_base", "mp_userinfo", "mp_follow"]
Purpose = Literal["login", "bind", "reauth"]
_LETTERS: dict[str, Flow] = {"q": "qr", "e": "embedded", "b": "mp_base", "u": "mp_userinfo"}
_FLOW_LETTER = {flow: letter for letter, flow in _LETTERS.items()}
KEY_LENGTH, _EXPIRY_LENGTH, _MAC_LENGTH = 22, 7, 32
_SHAPE = re.compile(r"([qebu])([A-Za-z0-9]{22})([0-9a-z]{7})([0-9a-f]{32})([0-9a-f]{32})", re.ASCII)
_COLUMNS = "state, purpose, flow, next_path, code_hash, result"


@dataclass(frozen=True)
class Ticket:
    """A state the site issued, read back from a callback URL."""

    state: str
    key: str  # the random part: the claim row's primary key
    flow: Flow
    expires_at: datetime
    browser_mac: str

    def expired(self, now: datetime) -> bool:
        """True once the state's 10 minutes are over."""
        return self.expires_at <= now


class StateSigner:
    """Issues states and checks them: by the site alone, or by the site and the browser's binding."""

    def __init__(self, secret_key: str) -> None:
        self._issued = derive_key(secret_key, "oauth-state")
        self._bound = derive_key(secret_key, "oauth-state-browser")

    def issue(self, flow: Flow, *, binding: str, now: datetime) -> str:
        """A new state for `flow`, bound to this browser's binding value."""
        body = f"{_FLOW_LETTER[flow]}{random_alnum(KEY_LENGTH)}{base36(int((now + STATE_TTL).timestamp()), _EXPIRY_LENGTH)}"
        return body + self._mac(self._issued, body) + self._mac(self._bound, f"{body}|{binding}")

    def read(self, state: str) -> Ticket | None:
        """The ticket if the site issued this state (expired or not); None for anything else."""
        match = _SHAPE.fullmatch(state)
        if match is None:
            return None
        letter, key, expiry, issued_mac, browser_mac = match.groups()
        body = letter + key + expiry
        if not hmac.compare_digest(issued_mac, self._mac(self._issued, body)):
            return None
        expires_at = datetime.fromtimestamp(int(expiry, 36), tz=UTC)
        return Ticket(state=state, key=key, flow=_LETTERS[letter], expires_at=expires_at, browser_mac=browser_mac)

    def bound_to(self, ticket: Ticket, binding: str | None) -> bool:
        """True when the browser carrying `binding` started this flow."""
        if not binding:
            return False
        body = ticket.state[: 1 + KEY_LENGTH + _EXPIRY_LENGTH]
        return hmac.compare_digest(ticket.browser_mac, self._mac(self._bound, f"{body}|{binding}"))

    @staticmethod
    def _mac(key: bytes, text: str) -> str:
        return hmac.digest(key, text.encode("ascii", "replace"), "sha256").hex()[:_MAC_LENGTH]


def base36(number: int, width: int) -> str:
    """`number` in lower-case base 36, zero-padded to `width` (a compact expiry inside a state or a scene)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out.rjust(width, "0")[-width:]


def is_well_formed(state: str | None) -> bool:
    """True for `[A-Za-z0-9]{1,128}`, WeChat's official-account rule."""
    return bool(state) and STATE_PATTERN.fullmatch(state or "") is not None


@dataclass(frozen=True)
class ClaimRow:
    """What a callback stored for a state: its flow's payload, its code (hashed) and its result."""

    state: str
    purpose: Purpose
    flow: Flow
    next_path: str
    code_hash: str | None
    result: dict[str, Any] | None


@dataclass(frozen=True)
class Claim:
    """Who gets to exchange a code: the first delivery, a repeat of the same code, or a replay."""

    kind: Literal["owner", "same_code", "replayed"]
    row: ClaimRow


_CLAIM_SQL = f"""
INSERT INTO oauth_states (state, purpose, flow, appid, next_path, browser_hash, created_at, expires_at,
                          consumed_at, code_hash)
VALUES ($1, $2, $3, $4, $5, '', $6, $7, $6, $8)
ON CONFLICT (state) DO NOTHING
RETURNING {_COLUMNS}
"""


async def claim(
    conn: asyncpg.Connection, ticket: Ticket, *, purpose: Purpose, appid: str, next_path: str, code: str,
    now: datetime,
) -> Claim:
    """Store the claim of this state by `code` (one statement); tell the caller whether it owns the exchange."""
    code_hash = digest(code)
    for _attempt in range(3):
        row = await conn.fetchrow(
            _CLAIM_SQL, ticket.key, purpose, ticket.flow, appid, next_path[:2000], now, ticket.expires_at, code_hash
        )
        if row is not None:
            return Claim("owner", _row(row))
        existing = await conn.fetchrow(f"SELECT {_COLUMNS} FROM oauth_states WHERE state = $1", ticket.key)
        if existing is not None:
            stored = _row(existing)
            return Claim("same_code" if stored.code_hash == code_hash else "replayed", stored)
        # The first claim's exchange failed and it was released meanwhile: take it over.
    raise RuntimeError("a claim kept vanishing")  # three releases in a row between two statements


async def release(conn: asyncpg.Connection, key: str) -> None:
    """Forget a claim whose exchange changed nothing (a refused code, WeChat down): no row stays behind."""
    await conn.execute("DELETE FROM oauth_states WHERE state = $1 AND flow <> 'mp_follow'", key)


async def save_result(conn: asyncpg.Connection, key: str, result: dict[str, Any]) -> None:
    """Record the outcome of the first delivery (a second delivery reads it)."""
    await conn.execute("UPDATE oauth_states SET result = $2 WHERE state = $1", key, orjson.dumps(result).decode())


async def wait_result(db: Database, key: str, *, timeout_s: float = 20.0) -> dict[str, Any] | Literal["gone"] | None:
    """The first delivery's outcome, waiting (with backoff) while it still works; "gone" if it was released."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = 0.02
    while True:
        async with db.connection() as conn:
            row = await conn.fetchrow("SELECT result FROM oauth_states WHERE state = $1", key)
        if row is None:
            return "gone"
        if row["result"] is not None or loop.time() >= deadline:
            result: dict[str, Any] | None = row["result"]
            return result
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 2, 0.5)


async def take_handoff(conn: asyncpg.Connection, key: str) -> tuple[Literal["ok", "working", "used", "missing"], Any]:
    """Hand-off of an embedded login to the top window: its result, only the first time."""
    result = await conn.fetchval(
        """UPDATE oauth_states SET result = result || '{"claimed": true}'::jsonb
           WHERE state = $1 AND flow = 'embedded' AND result IS NOT NULL AND NOT result ? 'claimed'
           RETURNING result""",
        key,
    )
    if result is not None:
        return "ok", result
    row = await conn.fetchrow("SELECT result FROM oauth_states WHERE state = $1 AND flow = 'embedded'", key)
    if row is None:
        return "missing", None
    return ("working", None) if row["result"] is None else ("used", row["result"])


def _row(record: asyncpg.Record) -> ClaimRow:
    return ClaimRow(**dict(record))
