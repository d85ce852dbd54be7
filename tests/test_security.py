"""Security primitives: `next` can never leave the site, and passwords are argon2id."""

from __future__ import annotations

import re
import string
from collections import Counter
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from argon2.profiles import CHEAPEST, get_default_parameters
from hypothesis import given
from hypothesis import strategies as st

from webapp import security
from webapp.settings import Settings

HOSTILE = [
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "https://evil.com",
    "HTTPS://evil.com",
    "http:/evil.com",
    "http:evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.com",
    "/%2F%2Fevil.com",
    "/%2f%2fevil.com",
    "/%252F%252Fevil.com",  # double-encoded
    "/%5Cevil.com",
    "//%65vil.com",
    "\t//evil.com",
    "/\t/evil.com",
    "/%09/evil.com",
    "/\r\n/evil.com",
    "/\x00/evil.com",
    "/\u200b/evil.com",  # zero-width space
    "/\u3000/evil.com",  # ideographic space
    " /settings",
    "///evil.com",
    "//evil.com/%2F..",
    "evil.com",
    "./settings",
    "../settings",
    "",
    None,
    "/" + "a" * 3000,
]

BENIGN = [
    "/",
    "/settings",
    "/ok/path?x=1#y",
    "/settings?next=//evil.com",  # a query is not a location
    "/ok#//evil",
    "/路径/页面",
    "/%E4%BD%A0",
    "/auth/wechat/start?next=%2Fsettings",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_next_refuses_hostile_values(value: str | None) -> None:
    assert security.safe_next(value) == "/"
    assert security.safe_next(value, default="/settings") == "/settings"


@pytest.mark.parametrize("value", BENIGN)
def test_safe_next_keeps_local_paths(value: str) -> None:
    assert security.safe_next(value) == value


# Mostly the plain-path alphabet, with the characters that matter at the edges of it.
_NEXT_CHARS = st.sampled_from(list("/abcZ09._~!$&'()*+,;=:@?-") + ["/", "\\", "%", "#", " ", "\t", "\x00", "路", "\u202e"])


@given(st.text(_NEXT_CHARS, max_size=24).map(lambda tail: "/" + tail))
def test_the_plain_path_shortcut_agrees_with_the_full_check(value: str) -> None:
    full = security._checked_next(value, "/fallback")
    if security._PLAIN_PATH.fullmatch(value):
        assert full == value  # the shortcut only ever accepts what the full check accepts
    assert security.safe_next(value, "/fallback") == full


_ANY_NEXT_CHARS = st.sampled_from(list("/\\%:.@?#evil.com25Ff09") + ["\t", "\n", " ", "\u3000", "\u202e", "\x00"])


@given(st.text(_ANY_NEXT_CHARS, max_size=20))
def test_what_safe_next_keeps_stays_on_the_site(value: str) -> None:
    kept = security.safe_next(value, "/fallback")
    for layer in (kept, unquote(kept), unquote(unquote(kept))):  # however many times a hop decodes it
        for seen in (layer, layer.replace("\\", "/")):  # browsers read a backslash as a slash
            resolved = urlsplit(urljoin("https://site.example/page", seen))
            assert (resolved.scheme, resolved.netloc) == ("https", "site.example")


def test_password_hash_is_argon2id_and_salted() -> None:
    first, second = security.hash_password("correct horse"), security.hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second
    assert "correct horse" not in first
    assert not security.needs_rehash(first)


def test_the_site_hashes_at_the_production_cost_unless_told_otherwise() -> None:
    assert Settings().password_parameters == get_default_parameters() == security.PRODUCTION_PARAMETERS
    assert Settings.from_env({"ARGON2_TIME_COST": "1"}).password_parameters == security.PRODUCTION_PARAMETERS
    cheap = security.Argon2(CHEAPEST)
    hashed = security.hash_password("correct horse", cheap)
    assert security.verify_password(hashed, "correct horse")  # a hash carries its own parameters
    assert security.needs_rehash(hashed)  # ...and a cheap one is replaced at the next login
    assert not security.needs_rehash(hashed, cheap)


@pytest.mark.parametrize(
    ("stored", "given", "ok"),
    [
        ("correct horse", "correct horse", True),
        ("correct horse", "Correct horse", False),
        ("correct horse", "", False),
        ("密码很长很长", "密码很长很长", True),
    ],
)
def test_verify_password(stored: str, given: str, ok: bool) -> None:
    assert security.verify_password(security.hash_password(stored), given) is ok


@pytest.mark.parametrize("password_hash", [None, "", "not a hash", "$argon2id$garbage"])
def test_verify_password_without_a_usable_hash_is_false(password_hash: str | None) -> None:
    assert security.verify_password(password_hash, "anything") is False


def test_tokens_are_random_and_digests_stable() -> None:
    assert security.random_token() != security.random_token()
    assert len(security.random_alnum(40)) == 40 and security.random_alnum(40).isalnum()
    assert security.digest("x") == security.digest("x") != security.digest("y")
    assert security.same("abc", "abc") and not security.same("abc", "abd")


def test_random_alnum_maps_random_bytes_evenly_onto_the_62_ascii_letters_and_digits() -> None:
    """Each kept byte value stands for one character, four values each: no character is likelier."""
    kept = bytes(range(256)).translate(security._ALPHANUMERIC_BY_BYTE, security._UNEVEN_BYTES).decode("ascii")
    assert Counter(kept) == dict.fromkeys(string.ascii_letters + string.digits, 4)
    assert re.fullmatch(r"[A-Za-z0-9]{128}", security.random_alnum(128))
