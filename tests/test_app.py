"""The app as a whole: the named routes others rely on, friendly localised error pages, security headers."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.accounts.helpers import SM
from webapp.app import create_app
from webapp.clock import FrozenClock
from webapp.settings import Settings

ROUTES = {
    "home": ("GET", "/"),
    "healthz": ("GET", "/healthz"),
    "api_me": ("GET", "/api/me"),
    "login": ("GET", "/login"),
    "login_post": ("POST", "/login"),
    "signup": ("GET", "/signup"),
    "signup_post": ("POST", "/signup"),
    "logout": ("POST", "/logout"),
    "settings": ("GET", "/settings"),
    "set_password": ("POST", "/settings/password"),
    "reauth": ("POST", "/settings/reauth"),
    "logout_others": ("POST", "/settings/sessions/logout-others"),
    "wechat_start": ("GET", "/auth/wechat/start"),
    "wechat_callback": ("GET", "/auth/wechat/callback"),
    "wechat_bind": ("POST", "/settings/wechat/bind"),
    "wechat_unbind": ("POST", "/settings/wechat/unbind"),
}

ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
async def app_client(aiohttp_client, settings: Settings, sessionmaker: SM, clock: FrozenClock) -> TestClient:  # type: ignore[no-untyped-def]
    """The site plus one test-only route that fails, added before the app starts."""
    app = create_app(settings, sessionmaker=sessionmaker, clock=clock)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals: /srv/app/db.py line 42")

    app.router.add_get("/__test__/boom", boom)
    return await aiohttp_client(app)


def test_every_named_route_exists(settings: Settings, sessionmaker: SM, clock: FrozenClock) -> None:
    app = create_app(settings, sessionmaker=sessionmaker, clock=clock)
    for name, (method, path) in ROUTES.items():
        resource = app.router[name]
        assert str(resource.url_for()) == path, name
        assert method in {route.method for route in resource}, name


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "english", "chinese"),
    [
        ("GET", "/no/such/page", None, 404, "Page not found", "页面不存在"),
        ("GET", "/logout", None, 405, "Method not allowed", "不支持的请求方式"),
        ("POST", "/login", "x" * 70_000, 413, "Too much data", "数据过大"),
        ("GET", "/__test__/boom", None, 500, "Something went wrong", "出错了"),
    ],
)
async def test_error_pages_are_localised_and_never_show_a_traceback(
    app_client: TestClient, method: str, path: str, data: str | None, status: int, english: str, chinese: str
) -> None:
    for headers, title, other in ((ENGLISH, english, chinese), (CHINESE, chinese, english)):
        response = await app_client.request(
            method, path, data=data, headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}
        )
        body = await response.text()
        assert response.status == status
        assert response.content_type == "text/html"
        assert f'<h1 id="error-title">{title}</h1>' in body and other not in body
        assert 'href="/"' in body  # a way back home
        for leak in ("Traceback", "RuntimeError", "secret internals", 'File "'):
            assert leak not in body


async def test_unknown_api_paths_answer_json(app_client: TestClient) -> None:
    response = await app_client.get("/api/nothing-here", headers=ENGLISH)
    assert response.status == 404
    assert (await response.json())["error"] == "Page not found"


@pytest.mark.parametrize("path", ["/", "/login", "/no/such/page", "/static/css/site.css", "/healthz"])
async def test_security_headers_everywhere(app_client: TestClient, path: str) -> None:
    headers = (await app_client.get(path)).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # only for https sites


async def test_public_pages_are_kept_for_the_back_button_and_static_files_by_content(app_client: TestClient) -> None:
    for path in ("/", "/login", "/signup", "/no/such/page"):  # nobody logged in: bfcache may keep them
        assert (await app_client.get(path)).headers["Cache-Control"] == "private, no-cache", path
    page = await (await app_client.get("/login")).text()
    css = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', page)
    assert css is not None, "the stylesheet's URL carries its content hash"
    assert (await app_client.get(css.group(1))).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for stale in ("/static/css/site.css", "/static/css/site.css?v=0123456789ab"):  # kept only when current
        assert (await app_client.get(stale)).headers["Cache-Control"] == "no-cache"
    assert 'href="/static/img/favicon.svg?v=' in page


async def test_pages_use_no_inline_script_or_style(app_client: TestClient) -> None:
    for path in ("/", "/login", "/signup", "/no/such/page"):
        body = await (await app_client.get(path)).text()
        assert "<style" not in body and " style=" not in body
        assert "<script>" not in body and "onclick" not in body


async def test_stylesheet_is_served(app_client: TestClient) -> None:
    response = await app_client.get("/static/css/site.css")
    assert response.status == 200
    assert ":focus-visible" in await response.text()
