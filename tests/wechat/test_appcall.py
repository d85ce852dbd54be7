"""The app-level clients' one HTTP exchange: every answer that is not a JSON object is "unavailable", never a crash."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from webapp.wechat.appcall import fetch_object, loggable_errmsg
from webapp.wechat.mini.errors import MiniUnavailable
from webapp.wechat.mp.errors import MpUnavailable

BODIES = {
    "/ok": (200, b'{"errcode": 0, "x": 1}'),
    "/deep": (200, b"[" * 100_000 + b"]" * 100_000),
    "/latin1": (200, b'{"errmsg": "\xe9"}'),
    "/list": (200, b"[1, 2]"),
    "/busy": (502, b"{}"),
}


@pytest.fixture
async def base(aiohttp_server) -> str:  # type: ignore[no-untyped-def]
    async def answer(request: web.Request) -> web.Response:
        status, body = BODIES[request.path]
        return web.Response(status=status, body=body)

    app = web.Application()
    for path in BODIES:
        app.router.add_get(path, answer)
    return str((await aiohttp_server(app)).make_url("")).rstrip("/")


@pytest.mark.parametrize("unavailable", [MpUnavailable, MiniUnavailable])
@pytest.mark.parametrize(("path", "reason"), [("/deep", "bad_json"), ("/latin1", "bad_json"), ("/list", "not_object"),
                                              ("/busy", "http_502"), ("/gone", "http_404")])
async def test_what_is_not_a_json_object_is_unavailable(base: str, unavailable: type, path: str, reason: str) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(unavailable) as raised:
            await fetch_object(http, "GET", base + path, path=path, params=None, json_body=None,
                               timeout=aiohttp.ClientTimeout(total=10), unavailable=unavailable)
        assert raised.value.errmsg == reason and raised.value.path == path
        assert await fetch_object(http, "GET", base + "/ok", path="/ok", params=None, json_body=None,
                                  timeout=aiohttp.ClientTimeout(total=10), unavailable=unavailable) == {"errcode": 0,
                                                                                                        "x": 1}


def test_the_logged_errmsg_hides_secrets_and_controls() -> None:
    payload = {"errmsg": "invalid appsecret s3cr3t\x1b[31m, rid: 1"}
    assert loggable_errmsg(payload, ("s3cr3t", "")) == "invalid appsecret ***[31m, rid: 1"
