"""One text policy for names from outside (WeChat nicknames) and from people (display names).

Kept: every printable character and every emoji sequence whole (ZWJ sequences 👩‍💻, variation
selectors 🏳️‍🌈, skin tones 👍🏽, flags 🇨🇳 and subdivision flags 🏴󠁧󠁢󠁳󠁣󠁴󠁿, keycaps 1️⃣). Removed: controls, lone
surrogates, line and paragraph separators, bidi controls, and zero-width or format characters that are
not part of an emoji sequence (a ZWJ between two symbols, tag characters after a black flag). Lengths
are cut at grapheme boundaries, so a sequence is never left half. The standard library's unicodedata
is enough: the sequences only need their parts' categories.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

ZWJ = "\u200d"
BLACK_FLAG = "\U0001f3f4"
_SPACES = frozenset("\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_REMOVED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MARKS = frozenset({"Mn", "Me", "Mc"})
_SYMBOLS = frozenset({"So", "Sk"})


def clean_text(value: str, max_length: int) -> str:
    """Printable text: the policy's characters removed, spaces collapsed, NFC, at most max_length code points."""
    text = " ".join(kept_characters(value).split())
    return cut(unicodedata.normalize("NFC", text), max_length)


def kept_characters(value: str) -> str:
    """`value` with what the policy removes taken out (whitespace-like controls become spaces)."""
    kept: list[str] = []
    for index, ch in enumerate(value):
        if ch in _SPACES:
            ch = " "
        category = unicodedata.category(ch)
        before = kept[-1] if kept else ""
        if ch == ZWJ:
            if _joins_emoji(before, value[index + 1 : index + 2]):
                kept.append(ch)
        elif _is_tag(ch):
            if before == BLACK_FLAG or _is_tag(before):
                kept.append(ch)
        elif category in _REMOVED:
            continue
        elif category in _MARKS and (not before or before == " "):
            continue  # a stray combining mark or variation selector: nothing to combine with
        else:
            kept.append(" " if category == "Zs" else ch)
    return "".join(kept)


def is_clean(value: str) -> bool:
    """True when the policy removes nothing from `value` (what a form accepts as typed)."""
    return kept_characters(value) == value


def graphemes(value: str) -> Iterator[str]:
    """User-perceived characters: a base with its marks, modifiers, joined emoji, tags or flag pair."""
    cluster = ""
    for index, ch in enumerate(value):
        if cluster and _extends(cluster, ch, value[index - 1]):
            cluster += ch
            continue
        if cluster:
            yield cluster
        cluster = ch
    if cluster:
        yield cluster


def cut(text: str, max_length: int) -> str:
    """At most max_length code points (what the columns hold), whole graphemes only."""
    if len(text) <= max_length:
        return text
    size, taken = 0, []
    for cluster in graphemes(text):
        if size + len(cluster) > max_length:
            break
        taken.append(cluster)
        size += len(cluster)
    return "".join(taken).rstrip(" ")


def _extends(cluster: str, ch: str, previous: str) -> bool:
    if previous == ZWJ or ch == ZWJ or _is_tag(ch) or _is_skin_tone(ch):
        return True
    if unicodedata.category(ch) in _MARKS:
        return True
    return _is_regional(ch) and len(cluster) == 1 and _is_regional(cluster)


def _joins_emoji(before: str, after: str) -> bool:
    if not before or not after or unicodedata.category(after) != "So":
        return False
    return unicodedata.category(before) in _SYMBOLS or before == "\ufe0f" or _is_skin_tone(before)


def _is_tag(ch: str) -> bool:
    return "\U000e0020" <= ch <= "\U000e007f"


def _is_skin_tone(ch: str) -> bool:
    return "\U0001f3fb" <= ch <= "\U0001f3ff"


def _is_regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"
