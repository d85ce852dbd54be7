"""`webapp rotate-keys`: re-encrypt every TOKEN_KEYS ciphertext under the first key, online and resumable.

Each encrypted column is walked in primary-key order (keyset pagination), one short read and one short
write per batch. A value is written back only if it is still the ciphertext that was read, so a token
the site or the refresher stored meanwhile is never overwritten. Values already under the first key
cost one decryption and no write, so a rerun after an interruption is cheap.

The other way round, a value we rotate while the refresher has its row leased makes the refresher's
own compare-and-set miss: it stores nothing and retries after its lease, as WeChat's refresh_token
does not change on refresh. That costs one extra WeChat call, never a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from typing import cast as cast_type

from cryptography.fernet import Fernet
from sqlalchemy import ARRAY, Column, Table, Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.crypto import InvalidToken, TokenCipher
from webapp.models import AppToken, WeChatIdentity

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding TOKEN_KEYS ciphertexts, and the primary key to walk it by."""

    pk: Column[Any]
    column: Column[Any]

    @property
    def label(self) -> str:
        """table.column, as printed."""
        return f"{self.column.table.name}.{self.column.name}"


_IDENTITIES, _APP_TOKENS = cast_type(Table, WeChatIdentity.__table__), cast_type(Table, AppToken.__table__)
ENCRYPTED_COLUMNS = (
    EncryptedColumn(_IDENTITIES.c.id, _IDENTITIES.c.access_token_enc),
    EncryptedColumn(_IDENTITIES.c.id, _IDENTITIES.c.refresh_token_enc),
    EncryptedColumn(_APP_TOKENS.c.appid, _APP_TOKENS.c.token_enc),
    EncryptedColumn(_IDENTITIES.c.id, _IDENTITIES.c.session_key_enc),  # mini program
)


class KeyRing:
    """TOKEN_KEYS for rotation: is a value under the first key, and if not, its re-encryption."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._first = Fernet(keys[0].encode("ascii"))
        self._all = TokenCipher(keys)

    def rotated(self, ciphertext: str) -> str | None:
        """None when already under the first key, else the new ciphertext; InvalidToken if no key fits."""
        try:
            self._first.decrypt(ciphertext.encode("ascii"))
            return None
        except (InvalidToken, UnicodeEncodeError):
            pass
        try:
            return self._all.rotate(ciphertext)
        except UnicodeEncodeError as exc:
            raise InvalidToken() from exc


@dataclass
class ColumnReport:
    """What a run did to one column."""

    label: str
    rotated: int = 0
    current: int = 0
    undecryptable: int = 0
    changed: int = 0  # rewritten by the site while we worked: left as the site wrote it

    def __str__(self) -> str:
        return (
            f"{self.label}: rotated {self.rotated}, already current {self.current}, "
            f"undecryptable {self.undecryptable}, changed meanwhile {self.changed}"
        )


@dataclass
class Batch:
    """One page of a column: what to write back, and what needed nothing."""

    last_pk: Any = None
    read: int = 0
    current: int = 0
    undecryptable: int = 0
    pending: list[tuple[Any, str, str]] = field(default_factory=list)  # (pk, old, new)


async def read_batch(sm: Sessions, column: EncryptedColumn, ring: KeyRing, *, after: Any, limit: int) -> Batch:
    """Read up to `limit` values after primary key `after` and work out their new ciphertexts."""
    query = select(column.pk, column.column).where(column.column.is_not(None)).order_by(column.pk).limit(limit)
    if after is not None:
        query = query.where(column.pk > after)
    async with sm() as s:
        rows = (await s.execute(query)).all()
    batch = Batch(last_pk=rows[-1][0] if rows else after, read=len(rows))
    for pk, ciphertext in rows:
        try:
            new = ring.rotated(ciphertext)
        except InvalidToken:
            batch.undecryptable += 1
            continue
        if new is None:
            batch.current += 1
        else:
            batch.pending.append((pk, ciphertext, new))
    return batch


async def write_batch(sm: Sessions, column: EncryptedColumn, pending: Sequence[tuple[Any, str, str]]) -> int:
    """Store new ciphertexts where the old one is still in place; return how many were stored."""
    if not pending:
        return 0
    pks, olds, news = zip(*pending, strict=True)
    values = (
        func.unnest(cast(list(pks), ARRAY(column.pk.type)), cast(list(olds), ARRAY(Text)), cast(list(news), ARRAY(Text)))
        .table_valued("pk", "old", "new")
        .render_derived(name="v")
    )
    # The compare-and-set: a value rewritten since we read it (a login, the refresher) is not ours to touch.
    stmt = (
        update(column.column.table)
        .where(column.pk == values.c.pk, column.column == values.c.old)
        .values({column.column.name: values.c.new})
        .returning(column.pk)
    )
    async with sm.begin() as s:
        return len((await s.execute(stmt)).all())


async def rotate_column(sm: Sessions, column: EncryptedColumn, ring: KeyRing, *, batch_size: int) -> ColumnReport:
    """Walk one column batch by batch; each batch is its own short transactions."""
    report = ColumnReport(column.label)
    after = None
    while True:
        batch = await read_batch(sm, column, ring, after=after, limit=batch_size)
        stored = await write_batch(sm, column, batch.pending)
        report.rotated += stored
        report.changed += len(batch.pending) - stored
        report.current += batch.current
        report.undecryptable += batch.undecryptable
        if batch.read < batch_size:
            return report
        after = batch.last_pk


async def rotate_keys(sm: Sessions, keys: Sequence[str], *, batch_size: int = 500) -> list[ColumnReport]:
    """Re-encrypt every encrypted column under the first of `keys`."""
    ring = KeyRing(keys)
    return [await rotate_column(sm, column, ring, batch_size=batch_size) for column in ENCRYPTED_COLUMNS]
