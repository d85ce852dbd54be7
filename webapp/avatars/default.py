"""The generated default avatar: the name's first character on a colour chosen by the user id."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

# White text is readable on each (WCAG AA for large text).
PALETTE = ("#0a7d4f", "#1d5fb8", "#8a3fb8", "#b8412f", "#a05a00", "#2f7f8a", "#5b6470", "#b02a6b")


@dataclass(frozen=True)
class DefaultAvatar:
    """What templates/_avatar.html draws until the copied picture is there."""

    initial: str
    colour: str


def default_avatar(account: Any) -> DefaultAvatar:
    """The default for an Account (or anything with id, display_name, username)."""
    name = f"{account.display_name or ''}{account.username or ''}"
    return DefaultAvatar(initial=initial(name), colour=colour(account.id))


def initial(name: str) -> str:
    """The first visible character, upper-cased; "?" for an empty name."""
    for ch in unicodedata.normalize("NFC", name):
        if unicodedata.category(ch)[0] not in "CZM":
            return ch.upper()
    return "?"


def colour(user_id: int) -> str:
    """A palette colour that stays the same for a user."""
    return PALETTE[hashlib.sha256(f"avatar:{user_id}".encode()).digest()[0] % len(PALETTE)]
