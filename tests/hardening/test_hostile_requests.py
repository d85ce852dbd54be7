"""Property tests: raw requests with tampered cookies and odd headers, on every route, never a 500.

Cookies (the session, CSRF, flash, outcome, resume, language, zone ones) are the real ones of a logged-in
browser, tampered with (a non-ASCII character, invalid UTF-8, a cut) or replaced by junk; headers
(X-Forwarded-For lines, X-Request-ID, Host, Accept-Language, Range, …) carry odd bytes. The requests are
written byte for byte on a real socket. `fuzz_routes.py` runs the same generator for many more requests.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.hostile import Known, failure, send
from tests.hardening.hostile_site import HostileSite, hostile_site
from tests.wechat.harness import World
from webapp.csrf import CSRF_COOKIE
from webapp.sessions import COOKIE_NAME

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
async def site(world: World) -> HostileSite:
    return await hostile_site(world)


@PROPERTY
@given(st.randoms(use_true_random=False))
async def test_no_hostile_request_to_any_route_is_a_500(site: HostileSite, rng: random.Random) -> None:
    raw, _status, why = await site.shoot(rng)
    assert why is None, (why, raw[:600])


@pytest.mark.parametrize("path", ["/login", "/auth/wechat/continue", "/settings", "/signup", "/"])
@pytest.mark.parametrize("tamper", [b"\xc3\xa9", b"\xe9", b"\xed\xa0\x80", b"\xff"])
async def test_a_signed_cookie_with_one_non_ascii_character_is_treated_as_absent(
    site: HostileSite, path: str, tamper: bytes
) -> None:
    for name in ("webapp_flash", "webapp_wx_outcome", "webapp_resume", "webapp_wx", CSRF_COOKIE, COOKIE_NAME):
        value = site.known.cookies.get(name, "eyJ4IjoxfQ.1800000000.abcdefabcdefabcdefabcdefabcdefab")
        cookie = name.encode() + b"=" + value[:5].encode() + tamper + value[6:].encode()
        raw = (f"GET {path} HTTP/1.1\r\nHost: {site.host}:{site.port}\r\n".encode() + b"Cookie: " + cookie
               + b"\r\nConnection: close\r\n\r\n")
        status, answer = await send(site.host, site.port, raw)
        assert failure(status, answer) is None, (name, status, answer[:300])
        assert status in (200, 302, 303), (name, status)


def test_known_cookies_are_not_needed_for_the_generator() -> None:
    from tests.hardening.hostile import request

    raw = request(random.Random(7), [("GET", "/login"), ("POST", "/lang/{locale}")], Known({}, "t"), b"h")
    assert raw.startswith((b"GET ", b"POST ")) and b"\r\n\r\n" in raw and b"Connection: close" in raw
