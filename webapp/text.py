"""Cleaning text that comes from outside (WeChat profiles) before it is stored or shown."""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
_SPACES = frozenset("\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def clean_text(value: str, max_length: int) -> str:
    """Printable text only: no controls, lone surrogates, bidi or zero-width tricks; spaces collapsed; bounded.

    A zero-width joiner survives between two symbols, where it builds an emoji (👨‍👩‍👧).
    """
    kept: list[str] = []
    for index, ch in enumerate(value):
        if ch in _SPACES:
            ch = " "
        category = unicodedata.category(ch)
        if ch == ZWJ and _joins_emoji(value, index, kept):
            kept.append(ch)
        elif category not in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            kept.append(" " if category == "Zs" else ch)
    text = " ".join("".join(kept).split())
    return _cut(unicodedata.normalize("NFC", text), max_length)


def _joins_emoji(value: str, index: int, kept: list[str]) -> bool:
    before = kept[-1] if kept else ""
    after = value[index + 1] if index + 1 < len(value) else ""
    symbol = ("So", "Sk", "Mn")
    return bool(before and after) and unicodedata.category(before) in symbol and unicodedata.category(after) == "So"


def _cut(text: str, max_length: int) -> str:
    if len(text) <= max_length:
        return text
    return text[:max_length].rstrip(ZWJ + " ")
