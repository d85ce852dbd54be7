"""Local-account use cases: sign up, log in, change password, re-authenticate. Each owns its transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp import events
from webapp.accounts import repository, throttle
from webapp.accounts.errors import InvalidCredentials, TooManyAttempts, UsernameTaken, WrongPassword
from webapp.accounts.forms import username_key
from webapp.models import SecurityEvent, User
from webapp.security import hash_password, needs_rehash, verify_password
from webapp.sessions import delete_other_sessions

Sessionmaker = async_sessionmaker[AsyncSession]
USERNAME_CONSTRAINT = "uq_users_username_key"


async def sign_up(
    sm: Sessionmaker, *, username: str, password: str, display_name: str, client: str, ip: str, now: datetime
) -> User:
    """Create a password account; UsernameTaken when the key is already used."""
    password_hash = await _hash(password)
    try:
        async with sm.begin() as s:
            user = await repository.create_user(
                s,
                username=username,
                username_key=username_key(username),
                password_hash=password_hash,
                display_name=display_name,
                now=now,
            )
            await events.record_event(
                s, user_id=user.id, kind="signup", method="password", client=client, ip=ip, now=now
            )
    except IntegrityError as exc:
        if not _is_username_clash(exc):
            raise
        raise UsernameTaken() from exc
    return user


async def authenticate(sm: Sessionmaker, *, username: str, password: str, client: str, ip: str, now: datetime) -> User:
    """The user these credentials belong to; InvalidCredentials or TooManyAttempts otherwise."""
    key = username_key(username)
    async with sm() as s:
        wait = await throttle.minutes_to_wait(s, user_key=key, ip=ip, now=now)
        user = await repository.get_user_by_username_key(s, key)
    if wait:
        raise TooManyAttempts(wait)
    # Always verify, against a dummy hash for unknown users, so both failures take the same time.
    ok = await _verify(user.password_hash if user else None, password)
    async with sm.begin() as s:
        if ok and user is not None:
            await _on_login(s, user, password, client=client, ip=ip, now=now)
        else:
            await throttle.record_failure(s, user_key=key, ip=ip, now=now)
            if user is not None:
                await events.record_event(
                    s, user_id=user.id, kind="login_failed", method="password", client=client, ip=ip, now=now
                )
    if not ok or user is None:
        raise InvalidCredentials()
    return user


async def _on_login(s: AsyncSession, user: User, password: str, *, client: str, ip: str, now: datetime) -> None:
    await throttle.clear_user(s, user_key=user.username_key or "")
    await events.record_event(s, user_id=user.id, kind="login", method="password", client=client, ip=ip, now=now)
    if user.password_hash and needs_rehash(user.password_hash):
        await repository.set_password_hash(s, user_id=user.id, password_hash=await _hash(password), now=now)


async def set_password(
    sm: Sessionmaker,
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    username: str | None,
    client: str,
    ip: str,
    now: datetime,
) -> None:
    """Set or change a password (and a username for an account without one)."""
    user = await _load(sm, user_id)
    if user.password_hash is not None:
        await _check_password(sm, user, current_password, ip=ip, now=now)
    new_hash = await _hash(new_password)
    try:
        async with sm.begin() as s:
            if username is not None and user.username is None:
                key = username_key(username)
                await repository.set_username(s, user_id=user_id, username=username, username_key=key, now=now)
            await repository.set_password_hash(s, user_id=user_id, password_hash=new_hash, now=now)
            await events.record_event(
                s, user_id=user_id, kind="password_set", method="password", client=client, ip=ip, now=now
            )
    except IntegrityError as exc:
        if not _is_username_clash(exc):
            raise
        raise UsernameTaken() from exc


async def reauthenticate(sm: Sessionmaker, *, user_id: int, password: str, ip: str, now: datetime) -> None:
    """Confirm the logged-in user's password before a sensitive action; WrongPassword otherwise."""
    user = await _load(sm, user_id)
    if user.password_hash is None:
        raise WrongPassword()
    await _check_password(sm, user, password, ip=ip, now=now)


async def logout_others(
    sm: Sessionmaker, *, user_id: int, keep_key: str | None, client: str, ip: str, now: datetime
) -> int:
    """End every other session of the user; return how many were ended."""
    async with sm.begin() as s:
        count = await delete_other_sessions(s, user_id=user_id, keep_key=keep_key)
        await events.record_event(s, user_id=user_id, kind="logout_others", method="", client=client, ip=ip, now=now)
    return count


async def recent_activity(sm: Sessionmaker, *, user_id: int, limit: int = 10) -> Sequence[SecurityEvent]:
    """The user's latest security events, newest first."""
    async with sm() as s:
        return await events.recent_events(s, user_id, limit)


async def _check_password(sm: Sessionmaker, user: User, password: str, *, ip: str, now: datetime) -> None:
    """Verify the user's own password, throttled like logins (it is as guessable)."""
    key = user.username_key or f"#{user.id}"
    async with sm() as s:
        wait = await throttle.minutes_to_wait(s, user_key=key, ip=ip, now=now)
    if wait:
        raise TooManyAttempts(wait)
    ok = await _verify(user.password_hash, password)
    async with sm.begin() as s:
        if ok:
            await throttle.clear_user(s, user_key=key)
        else:
            await throttle.record_failure(s, user_key=key, ip=ip, now=now)
    if not ok:
        raise WrongPassword()


async def _load(sm: Sessionmaker, user_id: int) -> User:
    async with sm() as s:
        user = await repository.get_user(s, user_id)
    if user is None:
        raise InvalidCredentials()
    return user


async def _hash(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def _verify(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def _is_username_clash(exc: IntegrityError) -> bool:
    return USERNAME_CONSTRAINT in str(exc.orig)
