"""The avatar fetcher against a real local image server: WeChat's hosts only, no redirect off them, a size cap
while streaming, the type judged by the bytes, transient and permanent failures told apart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from webapp.avatars.fetch import MAX_BYTES, AvatarFetcher, AvatarRefused, AvatarUnavailable, sized, sniff
from webapp.wechat_sim.avatar import avatar_png

PNG = avatar_png(1, 46)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
GIF = b"GIF89a" + b"\x00" * 20
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20


def image(body: bytes, content_type: str = "image/png") -> web.Response:
    return web.Response(body=body, content_type=content_type)


def answer(make):  # type: ignore[no-untyped-def]
    """A handler answering what `make()` returns (or raising it, for an HTTP error or redirect)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = make()
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return handler


async def stream_too_much(request: web.Request) -> web.StreamResponse:
    """A body larger than the cap, without a Content-Length (chunked): only counting can stop it."""
    response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(JPEG)
    for _ in range(40):
        await response.write(b"\x00" * 64 * 1024)
    await response.write_eof()
    return response


async def declared_huge(request: web.Request) -> web.StreamResponse:
    """Content-Length says more than the cap: refused before reading."""
    response = web.StreamResponse(headers={"Content-Type": "image/jpeg", "Content-Length": str(MAX_BYTES + 1)})
    await response.prepare(request)
    await response.write(JPEG)
    return response


@pytest.fixture
async def elsewhere(aiohttp_server) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """Another origin (a different port): not WeChat's, so never to be fetched, even through a redirect."""
    app = web.Application()
    app.router.add_get("/ok.png", answer(lambda: image(PNG)))
    server = await aiohttp_server(app)
    yield str(server.make_url("")).rstrip("/")


@pytest.fixture
async def hosts(aiohttp_server, elsewhere: str) -> AsyncIterator[tuple[str, AvatarFetcher]]:  # type: ignore[no-untyped-def]
    """An image server standing in for WECHAT_API_BASE's host, and a fetcher allowed to use it."""
    hang = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await hang.wait()  # never answers: only the fetcher's own timeout ends the request
        return image(PNG)

    app = web.Application()
    r = app.router
    for name, body, kind in (("ok.png", PNG, "image/png"), ("ok.jpg", JPEG, "image/jpeg"), ("ok.gif", GIF, "image/gif"),
                             ("ok.webp", WEBP, "image/webp"), ("liar.png", b"<svg onload=alert(1)>", "image/png"),
                             ("page", b"<html></html>", "text/html"), ("svg", b"<svg/>", "image/svg+xml"),
                             ("empty", b"", "image/png"), ("png-as-jpeg", PNG, "image/jpeg")):
        r.add_get(f"/{name}", answer(lambda body=body, kind=kind: image(body, kind)))
    r.add_get("/mmopen/x/0", answer(lambda: image(b"wrong size asked")))
    r.add_get("/mmopen/x/132", answer(lambda: image(PNG)))
    r.add_get("/huge", stream_too_much)
    r.add_get("/declared-huge", declared_huge)
    r.add_get("/inside", answer(lambda: web.HTTPFound("/ok.png")))
    r.add_get("/outside", answer(lambda: web.HTTPFound(f"{elsewhere}/ok.png")))
    r.add_get("/loop", answer(lambda: web.HTTPFound("/loop")))
    r.add_get("/gone", answer(web.HTTPNotFound))
    r.add_get("/busy", answer(web.HTTPServiceUnavailable))
    r.add_get("/limited", answer(web.HTTPTooManyRequests))
    r.add_get("/slow", slow)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        # A generous deadline: a loaded machine must not turn a quick refusal into a timeout. The hanging
        # server's test gives its own fetcher a short one.
        yield base, AvatarFetcher(http, api_base=base, timeout=aiohttp.ClientTimeout(total=10))
    hang.set()


@pytest.mark.parametrize(("path", "kind"), [("ok.png", "image/png"), ("ok.jpg", "image/jpeg"), ("ok.gif", "image/gif"),
                                            ("ok.webp", "image/webp"), ("png-as-jpeg", "image/png"),
                                            ("inside", "image/png"), ("mmopen/x/0", "image/png")])
async def test_images_are_copied_and_typed_by_their_bytes(hosts: tuple[str, AvatarFetcher], path: str,
                                                          kind: str) -> None:
    base, fetcher = hosts
    fetched = await fetcher.fetch(f"{base}/{path}")
    assert fetched.content_type == kind and len(fetched.sha256) == 64


@pytest.mark.parametrize("path", ["liar.png", "page", "svg", "empty", "huge", "declared-huge", "outside", "loop", "gone"])
async def test_what_is_not_a_small_image_on_wechats_hosts_is_refused_for_good(hosts: tuple[str, AvatarFetcher],
                                                                            path: str) -> None:
    base, fetcher = hosts
    with pytest.raises(AvatarRefused):
        await fetcher.fetch(f"{base}/{path}")


@pytest.mark.parametrize("path", ["busy", "limited", "slow"])
async def test_a_server_in_trouble_is_worth_another_try(hosts: tuple[str, AvatarFetcher], path: str) -> None:
    base, fetcher = hosts
    if path == "slow":  # only the fetcher's own deadline ends this one
        fetcher = AvatarFetcher(fetcher._http, api_base=base, timeout=aiohttp.ClientTimeout(total=0.5))
    with pytest.raises(AvatarUnavailable):
        await fetcher.fetch(f"{base}/{path}")


async def test_a_server_that_is_not_there_is_worth_another_try(hosts: tuple[str, AvatarFetcher]) -> None:
    _base, fetcher = hosts
    closed = AvatarFetcher(fetcher._http, api_base="http://127.0.0.1:9")  # the discard port: nobody listens
    with pytest.raises(AvatarUnavailable):
        await closed.fetch("http://127.0.0.1:9/a.png")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132", True),
        ("http://wx.qlogo.cn/mmopen/abc/0", True),
        ("https://any.thing.qlogo.cn/x", True),
        ("https://QLOGO.CN./x", True),
        ("https://qlogo.cn.evil.example/x", False),
        ("https://evilqlogo.cn/x", False),
        ("https://user:pw@wx.qlogo.cn/x", False),
        ("ftp://wx.qlogo.cn/x", False),
        ("javascript:alert(1)", False),
        ("https://api.weixin.qq.com/x", False),
        ("http://127.0.0.1:8081/mmopen/1/132", True),  # WECHAT_API_BASE's host and port (the simulator)
        ("http://127.0.0.1:8082/mmopen/1/132", False),
        ("http://localhost:8081/mmopen/1/132", False),
        ("http://xn--zz.qlogo.cn/x/0", False),  # a broken punycode label: yarl raises when the host is read
    ],
)
async def test_only_wechats_image_hosts_and_the_api_base_are_allowed(url: str, allowed: bool) -> None:
    async with aiohttp.ClientSession() as http:
        assert AvatarFetcher(http, api_base="http://127.0.0.1:8081").allowed(URL(url)) is allowed


def test_the_640px_picture_is_asked_for_at_132px_and_nothing_else_changes() -> None:
    assert str(sized("https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4/0")) == "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4/132"
    assert str(sized("https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4/46")) == "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4/46"
    assert str(sized("https://wx.qlogo.cn/a/10?x=1")) == "https://wx.qlogo.cn/a/10?x=1"


def test_magic_bytes() -> None:
    assert [sniff(b) for b in (PNG, JPEG, GIF, WEBP, b"RIFF\x00\x00\x00\x00WAVE", b"")] == [
        "image/png", "image/jpeg", "image/gif", "image/webp", None, None]


@pytest.mark.parametrize(("name", "initial"), [("alice", "A"), ("<script>", "<"), ("  🐼熊猫", "🐼"), ("\u0301é", "É"), ("", "?")])
def test_the_default_avatar_is_an_svg_of_the_escaped_initial_on_the_users_colour(name: str, initial: str) -> None:
    from types import SimpleNamespace
    from urllib.parse import unquote

    from webapp.avatars.default import PALETTE, default_avatar

    avatar = default_avatar(SimpleNamespace(id=7, display_name=name, username=None))
    assert avatar.initial == initial and avatar.colour in PALETTE
    assert avatar == default_avatar(SimpleNamespace(id=7, display_name=name, username=None))
    svg = unquote(avatar.data_uri.removeprefix("data:image/svg+xml,"))
    assert "#" not in avatar.data_uri and "<script" not in svg
    assert svg.startswith("<svg ") and svg.endswith("</svg>") and f'fill="{avatar.colour}"' in svg


async def test_a_url_that_does_not_parse_is_refused_for_good() -> None:
    async with aiohttp.ClientSession() as http:
        fetcher = AvatarFetcher(http, api_base="http://127.0.0.1:8081")
        for source in ("http://xn--zz.qlogo.cn/x/0", "http://[::1/0", "http://wx.qlogo.cn:99999/x/0"):
            with pytest.raises(AvatarRefused):
                await fetcher.fetch(source)
