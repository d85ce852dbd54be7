"""Property tests over every route of the site: whatever a client sends, never a 500 and never a traceback.

Routes are read from the running app's router (so new pages are fuzzed too). Each example picks a route,
an anonymous or a logged-in browser, a query and a body built from the site's field names and random
ones (repeated keys, control characters, invalid UTF-8, huge values), a content type (form, multipart,
JSON, bytes, odd charsets), and usually a valid CSRF token so that the handlers themselves are reached.
Seeds are fixed (derandomize) so CI sees the same requests every run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.hardening.conftest import PASSWORD
from tests.wechat.harness import Browser, World
from webapp.csrf import CSRF_FIELD, CSRF_HEADER

FIELDS = ["username", "password", "confirm", "current_password", "display_name", "next", "why", "qr", "self_redirect",
          "state", "code", "scope", "lang", "locale", "confirm_text", "user", "action", "format", CSRF_FIELD]
ODD = ["", "\u0000", "/\\evil.example", "//evil.example", "%00", "..", "A" * 5000, "\u202e\u2066", "\r\nX-Injected: 1",
       "javascript:alert(1)", "-1", "99999999999999999999", "NaN", "[]", "{}", "张伟🌸", "\ud800", "\udfff\ud800"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=no-such-charset", "multipart/form-data",
    "multipart/form-data; boundary=", "multipart/form-data; boundary=xyz", "application/json", "text/plain",
    "application/octet-stream", "text/html; charset=utf-16", "", "\u00ff/\u00ff",
]
PROPERTY = settings(deadline=None,  # max_examples: the hypothesis profile's (tests/conftest.py)
                    derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

texts = st.text(st.characters(exclude_categories=()), max_size=120)
values = st.one_of(texts, st.sampled_from(ODD), st.binary(max_size=40))
keys = st.sampled_from(FIELDS) | st.text(st.characters(exclude_categories=()), max_size=12)
pairs = st.lists(st.tuples(keys, values), max_size=6)  # repeated keys included


def encoded(value: str | bytes) -> str:
    """Percent-encoded bytes of a value (a lone surrogate becomes invalid UTF-8, as a hostile client may send)."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(raw, safe="")


def query_string(items: list[tuple[str, str | bytes]]) -> str:
    return "&".join(f"{encoded(k)}={encoded(v)}" for k, v in items)


@dataclass(frozen=True)
class Shot:
    """One request as a client may send it."""

    logged_in: bool
    segment: str | bytes
    query: list[tuple[str, str | bytes]]
    body_kind: str
    fields: list[tuple[str, str | bytes]]
    content_type: str
    csrf: str  # "field", "header", "none" or "forged"


shots = st.builds(
    Shot, logged_in=st.booleans(), segment=values, query=pairs,
    body_kind=st.sampled_from(["form", "form", "multipart", "json", "raw", "none"]), fields=pairs,
    content_type=st.sampled_from(CONTENT_TYPES), csrf=st.sampled_from(["field", "field", "header", "none", "forged"]),
)


def routes_of(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route, static files included."""
    found = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path") or (info.get("prefix", "/") + "/{filename}")
        found.append((route.method if route.method != "*" else "GET", template))
    return sorted(set(found))


def path_of(template: str, segment: str | bytes) -> str:
    """The template with every {placeholder} filled by the (encoded) segment."""
    return re.sub(r"\{[^}]+\}", lambda _m: encoded(segment)[:200] or "x", template)


def body_of(shot: Shot, token: str) -> tuple[bytes | aiohttp.FormData | None, dict[str, str]]:
    fields = list(shot.fields)
    headers = {}
    if shot.csrf == "field":
        fields.insert(0, (CSRF_FIELD, token))
    elif shot.csrf == "header":
        headers[CSRF_HEADER] = token
    elif shot.csrf == "forged":
        headers[CSRF_HEADER] = "forged"
    if shot.body_kind == "none":
        return None, headers
    if shot.body_kind == "multipart":
        form = aiohttp.FormData()
        for index, (key, value) in enumerate(fields):
            name = re.sub(r"[^\w.-]", "_", key, flags=re.ASCII) or "empty"  # what aiohttp's client lets us send
            if isinstance(value, bytes) or index % 3 == 2:
                raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
                form.add_field(name, raw, filename="f.bin", content_type="application/octet-stream")
            else:
                form.add_field(name, value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
        return form, headers
    if shot.body_kind == "json":
        data = json.dumps({k: v if isinstance(v, str) else v.hex() for k, v in fields}).encode("utf-8", "surrogatepass")
        return data, headers | {"Content-Type": "application/json"}
    if shot.body_kind == "raw":
        return b"".join(v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass") for _k, v in fields), \
            headers | {"Content-Type": shot.content_type.encode("latin-1", "replace").decode("latin-1")}
    return query_string(fields).encode(), headers | {"Content-Type": shot.content_type or CONTENT_TYPES[0]}


@dataclass
class Fuzzer:
    """The site's routes and two browsers: one anonymous, one logged in (it may log itself out meanwhile)."""

    world: World
    routes: list[tuple[str, str]]
    anonymous: Browser
    member: Browser

    async def token(self, browser: Browser) -> str:
        resp = await browser.get("/login")
        page = await browser.get("/settings/confirm") if resp.status == 302 else resp
        match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        return match.group(1) if match else "none"

    async def send(self, route: tuple[str, str], shot: Shot) -> tuple[str, int, str]:
        method, template = route
        browser = self.member if shot.logged_in else self.anonymous
        path = path_of(template, shot.segment)
        target = f"{path}?{query_string(shot.query)}" if shot.query else path
        data, headers = body_of(shot, await self.token(browser)) if method != "GET" else (None, {})
        resp = await browser.site.request(
            method, URL(target, encoded=True), data=data, headers={**browser.headers, **headers}, allow_redirects=False
        )
        event(f"{method} {template}: {resp.status}")
        event(f"status {resp.status}")
        return f"{method} {target[:300]}", resp.status, await resp.text(errors="replace")


@pytest.fixture
async def fuzzer(world: World) -> Fuzzer:
    member = world.browser()
    await member.signup("fuzzy", PASSWORD)
    return Fuzzer(world, routes_of(world.site.server.app), world.browser(), member)


def test_the_fuzzer_reaches_every_route_of_the_login_and_wechat_flows() -> None:
    from webapp.app import create_app
    from webapp.settings import Settings

    routes = {t for _m, t in routes_of(create_app(Settings(database_url="postgresql://x/y", secret_key="k" * 40,
                                                           token_keys=("A" * 43 + "=",))))}
    for needed in ("/login", "/signup", "/settings/password", "/settings/reauth", "/auth/wechat/link-existing",
                   "/auth/wechat/callback", "/auth/wechat/start", "/auth/wechat/finish", "/auth/wechat/continue",
                   "/auth/wechat/embed-state", "/lang/{locale}", "/settings/confirm/wechat"):
        assert needed in routes


@PROPERTY
@given(shots, st.data())
async def test_no_request_to_any_route_is_a_500_or_shows_a_traceback(fuzzer: Fuzzer, shot: Shot, data: st.DataObject) -> None:
    what, status, body = await fuzzer.send(data.draw(st.sampled_from(fuzzer.routes), label="route"), shot)
    assert status < 500, (what, status, body[:500])
    assert "Traceback" not in body and 'File "' not in body, what


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n"),  # no boundary
        ("multipart/form-data; boundary=xyz", b"not a multipart body at all"),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"username=a"),
        ("application/x-www-form-urlencoded", b"username=\xff\xfe\xed\xa0\x80"),  # raw bytes, not UTF-8
    ],
    ids=["no-boundary", "no-starting-boundary", "unknown-charset", "invalid-utf-8"],
)
async def test_a_body_that_is_no_form_is_a_400_on_every_post_route(fuzzer: Fuzzer, content_type: str, body: bytes) -> None:
    for logged_in in (False, True):
        browser = fuzzer.member if logged_in else fuzzer.anonymous
        token = await fuzzer.token(browser)
        for method, template in fuzzer.routes:
            if method != "POST":
                continue
            resp = await browser.site.post(path_of(template, "x"), data=body, allow_redirects=False,
                                           headers={**browser.headers, "Content-Type": content_type, CSRF_HEADER: token})
            text = await resp.text()
            # 404: an endpoint not configured; 401: a bearer-token API (no forms there: the missing token comes first)
            assert resp.status in (400, 404) or (template.startswith("/api/") and resp.status == 401), (
                template, resp.status, text[:300])
            assert "Traceback" not in text
