"""Local-account use cases: sign up, log in, change password, re-authenticate. Each owns its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp import events, ratelimit
from webapp.accounts import throttle
from webapp.accounts.account import Account
from webapp.accounts.errors import (
    AccountDisabled,
    InvalidCredentials,
    TooManyAttempts,
    UsernameTaken,
    WrongPassword,
)
from webapp.accounts.forms import username_key
from webapp.db import Database
from webapp.models import SecurityEvent
from webapp.passwords import Passwords
from webapp.security import digest

Sessionmaker = async_sessionmaker[AsyncSession]
USERNAME_CONSTRAINT = "uq_users_username_key"
SIGNUP_WINDOW = timedelta(hours=1)
_USER_COLUMNS = "id, username, display_name, password_hash, password_hash IS NOT NULL AS has_password, created_at, disabled_at"


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the security log and the address-based limits."""

    client: str
    ip: str


async def sign_up(
    db: Database, passwords: Passwords, *, username: str, password: str, display_name: str, origin: Origin, now: datetime,
    budget: int = 1000, consent_url: str | None = None,
) -> Account:
    """Create a password account (with the privacy policy it agreed to, if any); UsernameTaken when the key is
    already used, TooManyAttempts past the budget.

    The budget is the whole site's per hour (one counter row per hour), never a client address's: a campus or
    a carrier NAT puts many newcomers behind one address.
    """
    async with db.connection() as conn:
        if not await ratelimit.hit(conn, "signup:site", limit=budget, window=SIGNUP_WINDOW, now=now):
            raise TooManyAttempts(60, scopes=("signup",))
    password_hash = await passwords.hash(password)
    try:
        async with db.connection() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"INSERT INTO users (username, username_key, display_name, password_hash, created_at, updated_at, "
                f"last_seen_at, privacy_consent_at, privacy_consent_url) VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7) "
                f"RETURNING {_USER_COLUMNS}",
                username, username_key(username), display_name, password_hash, now, now if consent_url else None,
                consent_url,
            )
            await events.add_event(conn, user_id=row["id"], kind="signup", method="password", now=now, **_of(origin))
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != USERNAME_CONSTRAINT:
            raise
        raise UsernameTaken() from exc
    return Account.from_row(row)


async def authenticate(
    db: Database, passwords: Passwords, *, username: str, password: str, origin: Origin, now: datetime
) -> Account:
    """The account these credentials belong to; InvalidCredentials, TooManyAttempts or AccountDisabled otherwise."""
    key = username_key(username)
    async with db.connection() as conn:
        # Reserved before the verification: however many guesses arrive at once, at most the limit are verified.
        reservation = await throttle.reserve(conn, user_key=key, ip=origin.ip, now=now)
        row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE username_key = $1", key)
    # Always verify, against a dummy hash for unknown users, so both failures take the same time.
    verified_hash = row["password_hash"] if row else None
    ok = await passwords.verify(verified_hash, password)
    if row is not None:
        async with db.connection() as conn, conn.transaction():
            # Re-read under a lock: the account may have been deleted, disabled or given a new password while
            # the password was being verified (no check-then-act: the event below names the user).
            row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1 FOR SHARE", row["id"])
            if row is not None and not ok:
                await events.add_event(conn, user_id=row["id"], kind="login_failed", method="password", now=now,
                                       **_of(origin))
            elif row is not None and row["password_hash"] != verified_hash:
                ok = False  # changed meanwhile: what was verified is no longer this account's password
            elif row is not None:
                await throttle.succeeded(conn, reservation)
                if row["disabled_at"] is None:
                    await events.add_event(conn, user_id=row["id"], kind="login", method="password", now=now,
                                           **_of(origin))
    if not ok or row is None:
        raise InvalidCredentials()
    if row["disabled_at"] is not None:  # said only to someone who knows the password
        raise AccountDisabled()
    if passwords.needs_rehash(row["password_hash"]):
        await _store_password(db, row["id"], await passwords.hash(password), now=now)
    return Account.from_row(row)


async def set_password(
    db: Database,
    passwords: Passwords,
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    username: str | None,
    keep_session: str | None,
    origin: Origin,
    now: datetime,
) -> int:
    """Set or change the password (and a first username); every other session ends. Returns how many ended."""
    row = await _load(db, user_id)
    if row["password_hash"] is not None:
        await _check_password(db, passwords, row, current_password, origin=origin, now=now)
    new_hash = await passwords.hash(new_password)
    kind = "password_changed" if row["password_hash"] is not None else "password_set"
    try:
        async with db.connection() as conn, conn.transaction():
            if username is not None and row["username"] is None:
                await conn.execute(
                    "UPDATE users SET username = $2, username_key = $3, updated_at = $4 WHERE id = $1",
                    user_id, username, username_key(username), now,
                )
                await events.add_event(conn, user_id=user_id, kind="username_set", method="", now=now, **_of(origin))
            await conn.execute(
                "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", user_id, new_hash, now
            )
            ended = await _end_other_sessions(conn, user_id, keep_session)
            await events.add_event(conn, user_id=user_id, kind=kind, method="password", now=now, **_of(origin))
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != USERNAME_CONSTRAINT:
            raise
        raise UsernameTaken() from exc
    return ended


async def reauthenticate(
    db: Database, passwords: Passwords, *, user_id: int, password: str, origin: Origin, now: datetime
) -> None:
    """Confirm the logged-in user's password before a sensitive action; WrongPassword otherwise."""
    row = await _load(db, user_id)
    if row["password_hash"] is None:
        raise WrongPassword()
    await _check_password(db, passwords, row, password, origin=origin, now=now)


async def logout_others(db: Database, *, user_id: int, keep_session: str | None, origin: Origin, now: datetime) -> int:
    """End every other session of the user; return how many were ended."""
    async with db.connection() as conn, conn.transaction():
        count = await _end_other_sessions(conn, user_id, keep_session)
        await events.add_event(conn, user_id=user_id, kind="logout_others", method="", now=now, **_of(origin))
    return count


async def recent_activity(sm: Sessionmaker, *, user_id: int, limit: int = 10) -> Sequence[SecurityEvent]:
    """The user's latest security events, newest first."""
    async with sm() as s:
        return await events.recent_events(s, user_id, limit)


async def _check_password(
    db: Database, passwords: Passwords, row: asyncpg.Record, password: str, *, origin: Origin, now: datetime
) -> None:
    """Verify the user's own password, throttled like logins (it is as guessable)."""
    async with db.connection() as conn:
        reservation = await throttle.reserve(conn, user_key=row["username_key"] or f"#{row['id']}", ip=origin.ip, now=now)
    if not await passwords.verify(row["password_hash"], password):
        raise WrongPassword()
    async with db.connection() as conn:
        await throttle.succeeded(conn, reservation)


async def _store_password(db: Database, user_id: int, password_hash: str, *, now: datetime) -> None:
    async with db.connection() as conn:
        await conn.execute("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", user_id, password_hash, now)


async def _end_other_sessions(conn: asyncpg.Connection, user_id: int, keep_session: str | None) -> int:
    status = await conn.execute(
        "DELETE FROM web_sessions WHERE user_id = $1 AND id <> $2", user_id, digest(keep_session) if keep_session else ""
    )
    return int(status.split()[-1])


async def _load(db: Database, user_id: int) -> asyncpg.Record:
    async with db.connection() as conn:
        row = await conn.fetchrow(f"SELECT {_USER_COLUMNS}, username_key FROM users WHERE id = $1", user_id)
    if row is None:
        raise InvalidCredentials()
    return row


def _of(origin: Origin) -> dict[str, str]:
    return {"client": origin.client, "ip": origin.ip}


__all__ = ["AccountDisabled", "InvalidCredentials", "TooManyAttempts", "UsernameTaken", "WrongPassword"]
