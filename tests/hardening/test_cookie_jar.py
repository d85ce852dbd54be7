"""webapp.cookies: the one Cookie-header reader agrees with aiohttp; the Set-Cookie writer with http.cookies."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp_session import AbstractStorage
from hypothesis import given
from hypothesis import strategies as st

from webapp.cookies import EXPIRED, _morsel_header, jar, read, set_cookie_header
from webapp.sessions import PostgresStorage

# What the site writes: signed values, random tokens, JSON-free base64 (see webapp.cookies._COOKIE_VALUE).
_VALUE_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\')
NAMES = st.from_regex(re.compile(r"[A-Za-z0-9_.-]{1,20}"), fullmatch=True)
VALUES = st.text(alphabet=_VALUE_CHARS, min_size=1, max_size=60)


def _request(header: str | None) -> object:
    return make_mocked_request("GET", "/", headers={} if header is None else {"Cookie": header})


@given(st.lists(st.tuples(NAMES, VALUES), max_size=8), st.sampled_from(["; ", ";", " ; "]))
def test_for_values_the_site_writes_the_jar_agrees_with_aiohttp(pairs: list[tuple[str, str]], sep: str) -> None:
    request = _request(sep.join(f"{name}={value}" for name, value in pairs))

    parsed = jar(request)  # type: ignore[arg-type]

    for name, value in request.cookies.items():  # type: ignore[attr-defined]
        if read(request, name) is not None or name in parsed:  # type: ignore[arg-type]
            assert parsed.get(name) == value, (name, value, parsed)
    assert set(parsed) == {name for name, _ in pairs}


def test_the_jar_reads_a_browsers_header() -> None:
    request = _request('webapp_session=abc123; lang=en;  webapp_wx = "q1w2" ; csrf=x=y; flag')

    assert jar(request) == {"webapp_session": "abc123", "lang": "en", "webapp_wx": "q1w2", "csrf": "x=y"}  # type: ignore[arg-type]
    assert read(request, "webapp_wx") == "q1w2"  # type: ignore[arg-type]


def test_a_repeated_name_gives_its_last_value_as_aiohttp_does() -> None:
    request = _request("webapp_session=first; webapp_session=second")

    assert jar(request)["webapp_session"] == "second" == request.cookies["webapp_session"]  # type: ignore[arg-type,attr-defined]


def test_names_that_are_not_tokens_are_skipped_and_odd_values_never_read() -> None:
    request = _request('a b=1; ,x=2; ok=3; bad="\\"q\\""; ctl=\x01z; wide=张')

    assert jar(request).keys() == {"ok", "bad", "ctl", "wide"}  # type: ignore[arg-type]
    assert read(request, "ok") == "3"  # type: ignore[arg-type]
    assert [read(request, n) for n in ("bad", "ctl", "wide", "missing")] == [None] * 4  # type: ignore[arg-type]


def test_no_header_is_an_empty_jar_and_it_is_parsed_once() -> None:
    assert jar(_request(None)) == {}  # type: ignore[arg-type]
    request = _request("a=1")
    assert jar(request) is jar(request)  # type: ignore[arg-type]


@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize("max_age", [None, 0, 600])
@pytest.mark.parametrize("expires", [None, EXPIRED, "Tue, 08-Dec-2026 21:00:00 GMT"])
@pytest.mark.parametrize("value", ["AbC-123_x.y", "", "a b", 'quote"d', "semi;colon", "slash/ok", "é"])
def test_set_cookie_header_is_what_http_cookies_writes(
    value: str, expires: str | None, max_age: int | None, secure: bool
) -> None:
    """The direct Set-Cookie text equals the Morsel's, byte for byte, plain values and quoted ones alike."""
    # The reference: the http.cookies Morsel the direct text stands in for (and falls back to).
    morsel = _morsel_header("webapp_x", value, secure=secure, max_age=max_age, expires=expires)
    assert set_cookie_header("webapp_x", value, secure=secure, max_age=max_age, expires=expires) == morsel
    parsed = SimpleCookie(morsel)["webapp_x"]  # and the reference says what it should
    assert (parsed.value, parsed["path"], parsed["httponly"], parsed["samesite"]) == (value, "/", True, "Lax")
    assert (parsed["secure"] is True) == secure and parsed["max-age"] == ("" if max_age is None else str(max_age))


@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize("max_age", [None, 3600])
def test_the_session_cookie_header_is_aiohttp_sessions_own(secure: bool, max_age: int | None) -> None:
    """PostgresStorage writes its cookie directly; the text is the one aiohttp-session's save_cookie gives.

    (Both compute `expires` from the time of the call: compared apart, to the second.)
    """
    storage = PostgresStorage.__new__(PostgresStorage)
    AbstractStorage.__init__(storage, cookie_name="webapp_session", max_age=max_age, httponly=True, samesite="Lax",
                             secure=secure, path="/")
    ours, theirs = web.Response(), web.Response()
    storage.save_cookie(ours, "k" * 43, max_age=max_age)
    AbstractStorage.save_cookie(storage, theirs, "k" * 43, max_age=max_age)
    [expected] = [m.output(header="")[1:] for m in theirs.cookies.values()]
    [header] = ours.headers.getall("Set-Cookie")
    assert _EXPIRES.sub("", header) == _EXPIRES.sub("", expected)
    if max_age is None:
        assert "expires" not in header
    else:
        stamps = [parsedate_to_datetime(_EXPIRES.search(h)[1].replace("-", " ")) for h in (header, expected)]  # type: ignore[index]
        assert abs((stamps[0] - stamps[1]).total_seconds()) <= 1


_EXPIRES = re.compile(r"expires=([^;]+)")
