"""The generated default avatar: the name's first character on a colour chosen by the user id."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

# White text is readable on each (WCAG AA for large text).
PALETTE = ("#0a7d4f", "#1d5fb8", "#8a3fb8", "#b8412f", "#a05a00", "#2f7f8a", "#5b6470", "#b02a6b")


@dataclass(frozen=True)
class DefaultAvatar:
    """What templates/_avatar.html draws until the copied picture is there."""

    initial: str
    colour: str

    @property
    def data_uri(self) -> str:
        """The picture as an SVG data: URI (CSP img-src allows data:), so it is an <img> like the copied one."""
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">'
            f'<rect width="40" height="40" fill="{self.colour}"/>'
            '<text x="20" y="21" text-anchor="middle" dominant-baseline="middle" font-size="19" font-weight="600" '
            f'font-family="sans-serif" fill="#ffffff">{escape(self.initial)}</text></svg>'
        )
        return "data:image/svg+xml," + quote(svg, safe=" =:/,\"")


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
