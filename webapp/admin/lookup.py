"""WHO on the command line: a user id, a username, an openid, a unionid or a phone number, optionally prefixed by its kind."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.admin.errors import AmbiguousUser, UnknownUser
from webapp.models import User, WeChatIdentity, WeChatUnion

KINDS = ("id", "username", "openid", "unionid", "phone")
BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Who:
    """A parsed WHO: `kind` is None when the operator gave no prefix."""

    kind: str | None
    value: str


def parse_who(text: str) -> Who:
    """Split an optional `kind:` prefix off WHO."""
    kind, sep, value = text.partition(":")
    if sep and kind in KINDS:
        return Who(kind, value)
    return Who(None, text)


def username_key(username: str) -> str:
    """The key users.username_key holds: NFKC + casefold, so "Alice" finds "ａｌｉｃｅ"."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


async def find_user_id(session: AsyncSession, who: str) -> int:
    """The one user WHO names; UnknownUser or AmbiguousUser otherwise."""
    parsed = parse_who(who.strip())
    matches: dict[str, list[int]] = {}
    for kind in [parsed.kind] if parsed.kind else KINDS:
        query = _query(kind, parsed.value)
        if query is not None:
            ids = sorted(set((await session.scalars(query)).all()))
            if ids:
                matches[kind] = ids
    users = {user_id for ids in matches.values() for user_id in ids}
    if not users:
        raise UnknownUser(who)
    if len(users) > 1:
        raise AmbiguousUser(who, matches)
    return users.pop()


def _query(kind: str, value: str) -> Select[int] | CompoundSelect[int] | None:
    if not value:
        return None
    if kind == "id":
        if not (value.isascii() and value.isdigit()) or int(value) > BIGINT_MAX:
            return None
        return select(User.id).where(User.id == int(value))
    if kind == "username":
        return select(User.id).where(or_(User.username_key == username_key(value), User.username == value))
    if kind == "openid":
        return select(WeChatIdentity.user_id).where(WeChatIdentity.openid == value)
    if kind == "phone":  # E.164, as stored: phone:+8613800138000
        return select(User.id).where(User.phone == value) if value.startswith("+") else None
    return select(WeChatUnion.user_id).where(WeChatUnion.unionid == value).union(
        select(WeChatIdentity.user_id).where(WeChatIdentity.unionid == value)
    )
