"""`webapp rotate-keys`: every token ends under the first key, reruns are no-ops, concurrent writes win."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.admin.rotation import ENCRYPTED_COLUMNS, KeyRing, read_batch, rotate_keys, write_batch
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.models import AppToken, WeChatIdentity

from .cli import command_env, webapp
from .factories import add_identity, add_user

Sessions = async_sessionmaker[AsyncSession]
OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))


async def seed(sm: Sessions, *, old: int, new: int, lost: int = 0) -> None:
    """Identities whose tokens are under the old key, the new key, or a key nobody has any more; one app token."""
    now = utcnow()
    async with sm.begin() as s:
        user = await add_user(s, now=now)
        for key, count in ((OLD, old), (NEW, new), (LOST, lost)):
            for n in range(count):
                other = await add_user(s, now=now, username=f"u-{key[:6]}-{n}")
                await add_identity(s, other, now=now, openid=f"o-{key[:6]}-{n}", cipher=TokenCipher([key]))
        await add_identity(s, user, now=now, openid="o-no-tokens")  # NULL columns are not values
        s.add(AppToken(appid="wxapp", token_enc=TokenCipher([OLD]).encrypt("APP-TOKEN"), updated_at=now))


async def plaintexts(sm: Sessions, keys: list[str]) -> set[str]:
    """Every stored token decrypted with `keys` (raises if one cannot be)."""
    cipher = TokenCipher(keys)
    async with sm() as s:
        rows = (await s.execute(select(WeChatIdentity.access_token_enc, WeChatIdentity.refresh_token_enc))).all()
        app = (await s.scalars(select(AppToken.token_enc))).all()
    return {cipher.decrypt(v) for row in rows for v in row if v is not None} | {cipher.decrypt(v) for v in app if v}


async def test_after_a_run_the_new_key_alone_reads_every_token_and_a_rerun_rotates_nothing(sessionmaker: Sessions) -> None:
    await seed(sessionmaker, old=3, new=2)
    before = await plaintexts(sessionmaker, [NEW, OLD])

    first = await rotate_keys(sessionmaker, [NEW, OLD], batch_size=2)
    second = await rotate_keys(sessionmaker, [NEW, OLD], batch_size=2)

    assert await plaintexts(sessionmaker, [NEW]) == before
    assert [(r.label, r.rotated, r.current, r.undecryptable, r.changed) for r in first] == [
        ("wechat_identities.access_token_enc", 3, 2, 0, 0),
        ("wechat_identities.refresh_token_enc", 3, 2, 0, 0),
        ("wechat_app_tokens.token_enc", 1, 0, 0, 0),
        ("wechat_identities.session_key_enc", 0, 0, 0, 0),  # no mini program identities here
    ]
    assert [(r.rotated, r.current) for r in second] == [(0, 5), (0, 5), (0, 1), (0, 0)]


async def test_a_value_rewritten_after_it_was_read_is_not_overwritten(sessionmaker: Sessions) -> None:
    await seed(sessionmaker, old=2, new=0)
    column = ENCRYPTED_COLUMNS[1]  # refresh_token_enc, the one the refresher compares
    batch = await read_batch(sessionmaker, column, KeyRing([NEW, OLD]), after=None, limit=10)
    assert len(batch.pending) == 2
    racing_id = batch.pending[0][0]
    written_by_site = TokenCipher([NEW]).encrypt("REFRESHED-BY-THE-SITE")
    async with sessionmaker.begin() as s:  # the refresher stores a new token meanwhile
        await s.execute(update(WeChatIdentity).where(WeChatIdentity.id == racing_id).values(refresh_token_enc=written_by_site))

    stored = await write_batch(sessionmaker, column, batch.pending)

    assert stored == 1
    async with sessionmaker() as s:
        assert (await s.get(WeChatIdentity, racing_id)).refresh_token_enc == written_by_site  # type: ignore[union-attr]


async def test_an_undecryptable_value_is_counted_and_left_alone(sessionmaker: Sessions) -> None:
    await seed(sessionmaker, old=1, new=1, lost=1)
    async with sessionmaker() as s:
        lost = await s.scalar(select(WeChatIdentity.access_token_enc).where(WeChatIdentity.openid == f"o-{LOST[:6]}-0"))

    reports = await rotate_keys(sessionmaker, [NEW, OLD])

    assert [r.undecryptable for r in reports] == [1, 1, 0, 0]
    assert [r.rotated for r in reports] == [1, 1, 1, 0]
    async with sessionmaker() as s:
        assert await s.scalar(select(WeChatIdentity.access_token_enc).where(WeChatIdentity.openid == f"o-{LOST[:6]}-0")) == lost


async def test_the_command_rotates_prints_counts_and_a_rerun_finds_everything_current(
    pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path
) -> None:
    await seed(pooled_sessionmaker, old=3, new=1)
    env = command_env(pooled_database_url, TOKEN_KEYS=f"{NEW},{OLD}")

    first = await webapp("rotate-keys", "--batch-size", "2", env=env, cwd=tmp_path)
    second = await webapp("rotate-keys", env=env, cwd=tmp_path)

    assert first.status == 0, first.err
    assert "wechat_identities.refresh_token_enc: rotated 3, already current 1, undecryptable 0" in first.out
    assert "wechat_app_tokens.token_enc: rotated 1, already current 0" in first.out
    assert second.status == 0, second.err
    assert "wechat_identities.access_token_enc: rotated 0, already current 4" in second.out
    assert await plaintexts(pooled_sessionmaker, [NEW]) >= {"APP-TOKEN", f"ACCESS-o-{OLD[:6]}-0"}
    assert "gAAAA" not in first.out + first.err and NEW not in first.out + first.err


async def test_the_command_exits_1_when_a_value_decrypts_with_no_key(
    pooled_sessionmaker: Sessions, pooled_database_url: str, tmp_path: Path
) -> None:
    await seed(pooled_sessionmaker, old=1, new=0, lost=2)

    result = await webapp("rotate-keys", env=command_env(pooled_database_url, TOKEN_KEYS=f"{NEW},{OLD}"), cwd=tmp_path)

    assert result.status == 1
    assert "4 value(s) decrypt with none of the TOKEN_KEYS keys" in result.err
    assert "gAAAA" not in result.out + result.err  # counts, never the values
    assert await plaintexts(pooled_sessionmaker, [NEW, LOST]) >= {"APP-TOKEN"}


async def test_the_command_needs_token_keys(pooled_database_url: str, tmp_path: Path) -> None:
    result = await webapp("rotate-keys", env=command_env(pooled_database_url), cwd=tmp_path)
    assert result.status == 2 and "TOKEN_KEYS is not set" in result.err
