"""Escape control characters so a logged value can neither forge a line nor reorder a terminal."""

from __future__ import annotations

import re

# Cc, Cf, Zl, Zp and lone surrogates, except ZWNJ/ZWJ (U+200C/D) which join emoji and scripts.
# tests/observability/test_escape.py checks this class against unicodedata.
_CONTROLS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_KEEPING_NEWLINES = re.compile(f"(?!\n)[{_CONTROLS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(value: str) -> str:
    """`value` with every control or bidi character written as a visible escape such as \\n or \\u202e."""
    if value.isascii() and value.isprintable():  # the usual case, one scan in C: ASCII's only controls are
        return value  # \x00-\x1f and \x7f, exactly what isprintable() refuses
    return _UNSAFE.sub(_escaped, value) if _UNSAFE.search(value) else value


def escape_block(value: str) -> str:
    """Like escape, but a multi-line block (a traceback) keeps its newlines."""
    return _UNSAFE_KEEPING_NEWLINES.sub(_escaped, value)
