"""`webapp admin user …` as an operator runs it: a child process on a real database, exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TOKEN_KEY
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.models import SecurityEvent, User, WebSession, WeChatIdentity

from .cli import command_env, webapp
from .factories import add_identity, add_session, add_user

Sessions = async_sessionmaker[AsyncSession]


async def seed(sm: Sessions) -> tuple[int, int]:
    """alice (password, WeChat, two sessions) and wechat-only carol; returns their ids."""
    now = utcnow()
    async with sm.begin() as s:
        alice = await add_user(s, now=now, display_name="Alice")
        await add_identity(s, alice, now=now, openid="oAlice", unionid="uAlice", cipher=TokenCipher([TOKEN_KEY]))
        await add_session(s, alice, now=now, name="alice-phone")
        await add_session(s, alice, now=now, name="alice-laptop")
        carol = await add_user(s, now=now, username=None, password=False, display_name="卡罗尔")
        await add_identity(s, carol, now=now, openid="oCarol", unionid="uCarol")
        return alice.id, carol.id


async def test_show_json_has_the_api_me_fields_plus_disabled_and_sessions(
    pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path
) -> None:
    alice, _ = await seed(pooled_sessionmaker)

    result = await webapp("admin", "user", "show", "--json", "oAlice", env=command_env(pooled_database_url), cwd=tmp_path)

    assert result.status == 0, result.err
    data = json.loads(result.out)
    assert {k: data[k] for k in ("id", "username", "display_name", "has_password", "disabled", "sessions")} == {
        "id": alice, "username": "alice", "display_name": "Alice", "has_password": True, "disabled": False,
        "sessions": 2,
    }
    assert [(w["openid"], w["unionid"], w["status"]) for w in data["wechat"]] == [("oAlice", "uAlice", "active")]
    assert "ACCESS-oAlice" not in result.out and "gAAAA" not in result.out  # neither tokens nor Fernet ciphertexts


async def test_show_text_lists_identities_sessions_and_activity(
    pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path
) -> None:
    await seed(pooled_sessionmaker)

    result = await webapp("admin", "user", "show", "unionid:uCarol", env=command_env(pooled_database_url), cwd=tmp_path)

    assert result.status == 0, result.err
    assert "卡罗尔" in result.out and "password: no" in result.out
    assert "WeChat identities (1)" in result.out and "oCarol" in result.out and "Sessions (0)" in result.out


async def test_unknown_and_ambiguous_who_exit_1_with_a_message_on_stderr(
    pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path
) -> None:
    await seed(pooled_sessionmaker)
    async with pooled_sessionmaker.begin() as s:
        await add_user(s, now=utcnow(), username="oCarol")  # a username that is also carol's openid
    env = command_env(pooled_database_url)

    unknown = await webapp("admin", "user", "disable", "nobody", env=env, cwd=tmp_path)
    ambiguous = await webapp("admin", "user", "disable", "oCarol", env=env, cwd=tmp_path)

    assert (unknown.status, unknown.out) == (1, "")
    assert "no account matches 'nobody'" in unknown.err
    assert (ambiguous.status, ambiguous.out) == (1, "")
    assert "ambiguous" in ambiguous.err and "openid:" in ambiguous.err
    async with pooled_sessionmaker() as s:
        assert await s.scalar(select(func.count()).where(User.disabled_at.is_not(None))) == 0


async def test_disable_then_enable(pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path) -> None:
    alice, _ = await seed(pooled_sessionmaker)
    env = command_env(pooled_database_url)

    disabled = await webapp("admin", "user", "disable", "alice", env=env, cwd=tmp_path)

    assert disabled.status == 0, disabled.err
    assert f"user {alice} disabled; 2 session(s) ended" in disabled.out
    async with pooled_sessionmaker() as s:
        assert (await s.get(User, alice)).disabled_at is not None  # type: ignore[union-attr]
        assert await s.scalar(select(func.count()).where(WebSession.user_id == alice)) == 0

    enabled = await webapp("admin", "user", "enable", f"id:{alice}", env=env, cwd=tmp_path)

    assert enabled.status == 0, enabled.err
    async with pooled_sessionmaker() as s:
        assert (await s.get(User, alice)).disabled_at is None  # type: ignore[union-attr]
        kinds = (await s.scalars(select(SecurityEvent.kind).where(SecurityEvent.actor == "admin"))).all()
    assert sorted(kinds) == ["disabled", "enabled"]


async def test_unbind_is_refused_without_a_password_and_done_with_one(
    pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path
) -> None:
    _, carol = await seed(pooled_sessionmaker)
    env = command_env(pooled_database_url)

    refused = await webapp("admin", "user", "unbind", "oCarol", env=env, cwd=tmp_path)
    done = await webapp("admin", "user", "unbind", "alice", env=env, cwd=tmp_path)

    assert refused.status == 1 and "no password" in refused.err
    assert done.status == 0, done.err
    async with pooled_sessionmaker() as s:
        assert (await s.scalars(select(WeChatIdentity.user_id))).all() == [carol]


async def test_logout_ends_every_session(pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path) -> None:
    alice, _ = await seed(pooled_sessionmaker)

    result = await webapp("admin", "user", "logout", "ALICE", env=command_env(pooled_database_url), cwd=tmp_path)

    assert result.status == 0, result.err
    assert f"user {alice}: 2 session(s) ended" in result.out
    async with pooled_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(WebSession)) == 0


async def test_a_bad_configuration_exits_2_and_help_documents_the_prefixes(tmp_path: Path) -> None:
    env = command_env("postgresql://localhost/x", DATABASE_POOL_MODE="statement")

    bad = await webapp("admin", "user", "show", "alice", env=env, cwd=tmp_path)
    usage = await webapp("admin", "user", "disable", "--help", env=env, cwd=tmp_path)

    assert bad.status == 2 and "DATABASE_POOL_MODE" in bad.err
    assert usage.status == 0 and "id:7" in usage.out and "unionid:" in usage.out
