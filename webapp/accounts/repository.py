"""User queries: session in, objects out, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.models import User


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user with this id, or None."""
    return await session.get(User, user_id)


async def get_user_by_username_key(session: AsyncSession, key: str) -> User | None:
    """The user whose NFKC-casefolded username is `key`, or None."""
    return await session.scalar(select(User).where(User.username_key == key))


async def create_user(
    session: AsyncSession,
    *,
    username: str | None,
    username_key: str | None,
    password_hash: str | None,
    display_name: str = "",
    now: datetime,
) -> User:
    """Insert a user; the unique username_key may raise IntegrityError at flush."""
    user = User(
        username=username,
        username_key=username_key,
        display_name=display_name,
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def set_password_hash(session: AsyncSession, *, user_id: int, password_hash: str, now: datetime) -> None:
    """Replace a user's password hash."""
    await session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash, updated_at=now))


async def set_username(session: AsyncSession, *, user_id: int, username: str, username_key: str, now: datetime) -> None:
    """Give a user (a WeChat-only account) a username; the unique key may raise IntegrityError."""
    await session.execute(
        update(User).where(User.id == user_id).values(username=username, username_key=username_key, updated_at=now)
    )
