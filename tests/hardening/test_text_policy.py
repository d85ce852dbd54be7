"""The one text policy (webapp.text) for WeChat nicknames and display names: properties over any text.

Emoji sequences are kept whole, bidi controls and stray zero-width characters go, cleaning twice
changes nothing, lengths are cut between graphemes, and a name the site copied from WeChat is always
a display name the form accepts. Seeds are fixed (derandomize).
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.accounts.forms import ProfileForm, display_name_error
from webapp.text import clean_text, graphemes, is_clean
from webapp.wechat.schemas import WeChatProfile

FAST = settings(max_examples=500, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
# RGI sequences of every kind: ZWJ, variation selector, skin tone, flag, subdivision flag, keycap, families.
RGI = ["👩\u200d💻", "🏳\ufe0f\u200d🌈", "👍🏽", "🇨🇳", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧\u200d👦", "🧑🏽\u200d💻",
       "❤\ufe0f\u200d🔥", "🏴\u200d☠\ufe0f", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "1\ufe0f\u20e3",
       "#\ufe0f\u20e3", "👩🏿\u200d🦰", "🏃\u200d♀\ufe0f", "🇯🇵", "👁\ufe0f\u200d🗨\ufe0f", "🐻\u200d❄\ufe0f", "😀", "☺\ufe0f"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
        "\u061c"]
STRAY = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\ufe0f", "\U000e0067"]
junk = st.sampled_from(BIDI + STRAY + ["\x00", "\x1b", "\ud800", "\u2028", "\n", " ", "a", "张", "\u0301"])
texts = st.lists(st.sampled_from(RGI) | junk | st.characters(exclude_categories=()), max_size=60).map("".join)
FORBIDDEN = set(BIDI) | {"\u200b", "\u2060", "\ufeff"}


def assert_policy(cleaned: str) -> None:
    for ch in cleaned:
        assert unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp"), repr(cleaned)
        assert ch not in FORBIDDEN, repr(cleaned)


@FAST
@given(texts, st.integers(min_value=1, max_value=120))
def test_cleaning_is_idempotent_bounded_and_leaves_no_control(value: str, limit: int) -> None:
    cleaned = clean_text(value, limit)
    assert clean_text(cleaned, limit) == cleaned
    assert len(cleaned) <= limit
    assert_policy(cleaned)
    assert is_clean(cleaned)


@FAST
@given(st.lists(st.sampled_from(RGI), min_size=1, max_size=8), st.lists(junk, max_size=8))
def test_every_rgi_sequence_survives_whatever_surrounds_it(sequences: list[str], noise: list[str]) -> None:
    mixed = "".join(s + (noise[i] if i < len(noise) and noise[i] not in ("\u200d", "\u0301", "\ufe0f") else "")
                    for i, s in enumerate(sequences))
    cleaned = clean_text(mixed, 1000)
    for sequence in sequences:
        assert sequence in cleaned, (sequence, cleaned)


@pytest.mark.parametrize("sequence", RGI)
def test_each_rgi_sequence_is_one_grapheme_kept_as_it_is(sequence: str) -> None:
    assert clean_text(sequence, 100) == unicodedata.normalize("NFC", sequence)
    assert list(graphemes(sequence)) == [sequence]
    assert display_name_error(sequence) is None


@FAST
@given(st.sampled_from(RGI), st.integers(min_value=1, max_value=40))
def test_a_cut_never_splits_a_sequence(sequence: str, limit: int) -> None:
    cleaned = clean_text(sequence * 20, limit)
    assert cleaned == sequence * (len(cleaned) // len(sequence))


@FAST
@given(texts)
def test_a_nickname_the_site_copied_is_a_display_name_the_form_accepts(nickname: str) -> None:
    copied = WeChatProfile.from_payload({"openid": "o1", "nickname": nickname}).nickname
    error = display_name_error(copied)
    if len(list(graphemes(copied))) <= 64:
        assert error is None, (copied, error)
    else:
        assert error == "A display name has at most 64 characters."


@pytest.mark.parametrize("name", ["Ada 👩\u200d💻", "Sam 🏳\ufe0f\u200d🌈", "小明 👍🏽", "李 🇨🇳", "The 👨\u200d👩\u200d👧"])
def test_people_can_save_their_real_names(name: str) -> None:
    assert ProfileForm.parse({"display_name": name}).errors == {}


@pytest.mark.parametrize("name", ["rtl\u202eoverride", "zero\u200bwidth", "stray\u200djoiner", "\ufe0fstart", "nul\x00"])
def test_hidden_characters_in_a_typed_name_are_refused_with_a_reason(name: str) -> None:
    assert display_name_error(name) == "The display name contains characters that are not allowed."


def test_length_counts_what_people_see() -> None:
    assert display_name_error("👨\u200d👩\u200d👧" * 20) is None  # 20 characters seen, 100 code points stored
    assert display_name_error("👍🏽" * 51) == "A display name has at most 64 characters."  # past the column
    assert display_name_error("x" * 65) == "A display name has at most 64 characters."
