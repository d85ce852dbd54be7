"""Site-wide pages: the official account's domain-verification file."""

from __future__ import annotations

from webapp.app import create_app
from webapp.keys import db_key


async def test_mp_verify_file_is_served_from_configuration(aiohttp_client, settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    configured = settings.with_(mp_verify={"MP_verify_Ab12Cd.txt": "Ab12Cd"})
    client = await aiohttp_client(create_app(configured, sessionmaker=sessionmaker, clock=clock))
    resp = await client.get("/MP_verify_Ab12Cd.txt")
    assert resp.status == 200
    assert await resp.text() == "Ab12Cd"
    assert resp.content_type == "text/plain"
    assert (await client.get("/MP_verify_Other1.txt")).status == 404


def test_mp_verify_is_read_from_the_environment() -> None:
    from webapp.settings import Settings

    settings = Settings.from_env({"WECHAT_MP_VERIFY": "MP_verify_a1.txt=a1, MP_verify_b2.txt=b2"})
    assert dict(settings.mp_verify) == {"MP_verify_a1.txt": "a1", "MP_verify_b2.txt": "b2"}


async def test_anonymous_pages_store_no_session_even_with_forms(client) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from webapp.models import WebSession

    resp = await client.get("/")
    assert resp.status == 200
    assert "webapp_session" not in resp.cookies
    login = await client.get("/login")  # a form: its CSRF token is a signed cookie, not a stored session
    assert 'name="csrf_token"' in await login.text()
    assert "webapp_session" not in login.cookies and "webapp_csrf" in login.cookies
    async with client.app[db_key]() as s:
        assert await s.scalar(select(func.count()).select_from(WebSession)) == 0


async def test_client_address_comes_from_forwarded_for_only_behind_a_trusted_proxy(aiohttp_client, settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import web

    from webapp.clientinfo import client_ip

    async def show(request: web.Request) -> web.Response:
        return web.Response(text=client_ip(request))

    for trusted, expected in ((frozenset(), "127.0.0.1"), (frozenset({"127.0.0.1", "10.0.0.2"}), "203.0.113.9")):
        app = create_app(settings.with_(trusted_proxies=trusted), sessionmaker=sessionmaker, clock=clock)
        app.router.add_get("/_ip", show)
        client = await aiohttp_client(app)
        resp = await client.get("/_ip", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.2"})
        assert await resp.text() == expected
