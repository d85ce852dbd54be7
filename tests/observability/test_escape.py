"""Every logged value goes through escape(): no control, format or bidi character survives it."""

from __future__ import annotations

import sys
import unicodedata

from webapp.observability.escape import _UNSAFE, escape, escape_block

JOINERS = {"\u200c", "\u200d"}  # ZWNJ/ZWJ join emoji and scripts; alone they move nothing


def test_every_control_format_separator_and_surrogate_character_is_escaped() -> None:
    unsafe = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp", "Cs") and chr(c) not in JOINERS
    ]
    left = [hex(ord(ch)) for ch in unsafe if escape(ch) == ch]
    assert left == []


def test_escapes_are_visible_and_readable() -> None:
    assert escape("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert escape("\x00\x1b[31m\x7f") == "\\x00\\x1b[31m\\x7f"
    assert escape("abc\u202edcba") == "abc\\u202edcba"
    assert escape("\U000e0041") == "\\U000e0041"


def test_chinese_emoji_and_joined_emoji_are_left_alone() -> None:
    text = "微信用户 🐼 👨‍👩‍👧 café"
    assert escape(text) == text


def test_a_traceback_keeps_its_lines_but_not_its_control_characters() -> None:
    assert escape_block("Traceback:\n  x\u202e\r\n") == "Traceback:\n  x\\u202e\\r\n"


def test_the_ascii_shortcut_leaves_alone_exactly_what_the_pattern_leaves_alone() -> None:
    for code in range(128):
        text = f"GET /x{chr(code)}y 200"
        assert (escape(text) == text) == (_UNSAFE.search(text) is None), hex(code)
