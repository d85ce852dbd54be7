"""Fixtures for the simulator's own tests: a frozen clock, a live simulator server, a driver."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.state import SimulatorState

T0 = 1_700_000_000.0
CALLBACK = "http://localhost:8080/auth/wechat/callback"
POLL_RE = re.compile(r"^window\.wx_errcode=(\d+);window\.wx_code='([^']*)';$")


@dataclass
class Sim:
    """A running simulator and shortcuts for driving it over HTTP."""

    state: SimulatorState
    client: TestClient

    async def sns(self, path: str, **params: str) -> dict[str, Any]:
        """GET an /sns path and parse the body as WeChat's UTF-8 JSON."""
        resp = await self.client.get(path, params=params)
        assert resp.status == 200
        return await resp.json(content_type=None, encoding="utf-8")

    async def issue_code(self, appid: str = fx.WEBSITE_APPID, user: int = 1, **extra: Any) -> str:
        """Issue a code through the control API."""
        resp = await self.client.post("/_sim/api/codes", json={"appid": appid, "user": user, **extra})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["code"]

    async def exchange(self, code: str, appid: str = fx.WEBSITE_APPID, secret: str = fx.WEBSITE_SECRET
                       ) -> dict[str, Any]:
        """Exchange a code for tokens."""
        return await self.sns("/sns/oauth2/access_token", appid=appid, secret=secret, code=code,
                              grant_type="authorization_code")

    async def login(self, appid: str = fx.WEBSITE_APPID, secret: str = fx.WEBSITE_SECRET, user: int = 1,
                    **extra: Any) -> dict[str, Any]:
        """Issue a code and exchange it."""
        return await self.exchange(await self.issue_code(appid, user, **extra), appid, secret)

    async def refresh(self, refresh_token: str, appid: str = fx.WEBSITE_APPID) -> dict[str, Any]:
        """Refresh a token."""
        return await self.sns("/sns/oauth2/refresh_token", appid=appid, grant_type="refresh_token",
                              refresh_token=refresh_token)

    async def advance(self, seconds: float) -> float:
        """Move the simulator clock through the control API."""
        resp = await self.client.post("/_sim/api/clock", json={"advance_s": seconds})
        return (await resp.json())["now"]

    async def new_qr(self, redirect_uri: str = CALLBACK, state: str = "st4te", appid: str = fx.WEBSITE_APPID
                     ) -> str:
        """Open the QR page with f=xml and return the uuid."""
        resp = await self.client.get("/connect/qrconnect", params={
            "appid": appid, "redirect_uri": redirect_uri, "response_type": "code", "scope": "snsapi_login",
            "state": state, "f": "xml"})
        match = re.search(r"<uuid><!\[CDATA\[(\w{16})\]\]></uuid>", await resp.text())
        assert match, await resp.text()
        return match.group(1)

    async def qr(self, uuid: str, action: str, user: int | None = 1) -> Any:
        """Do a phone action on a QR session; return (status, json)."""
        resp = await self.client.post(f"/_sim/api/qr/{uuid}", json={"user": user, "action": action})
        return resp.status, await resp.json()

    async def poll(self, uuid: str, last: str | None = None) -> tuple[int, str]:
        """Run one long poll and return (wx_errcode, wx_code)."""
        params = {"uuid": uuid, "_": "1"} | ({"last": last} if last else {})
        resp = await self.client.get("/connect/l/qrconnect", params=params)
        match = POLL_RE.match(await resp.text())
        assert match, await resp.text()
        return int(match.group(1)), match.group(2)


@pytest.fixture
def sim_state() -> SimulatorState:
    """A simulator state with a frozen clock and a short long-poll hold."""
    return SimulatorState(clock=SimClock(frozen_at=T0), poll_hold_s=0.05)


@pytest.fixture
async def sim(aiohttp_client: Callable[..., Awaitable[TestClient]], sim_state: SimulatorState) -> Sim:
    """A simulator served over real HTTP."""
    client = await aiohttp_client(create_simulator_app(sim_state))
    return Sim(sim_state, client)


@dataclass
class Received:
    """One push as the receiver saw it: query, raw body, the decrypted/plain XML and wechatpy's parse."""

    query: dict[str, str]
    body: str
    xml: str
    message: Any


@dataclass
class Receiver:
    """An official account's server, written with wechatpy: verifies, decrypts, parses and answers scripted replies.

    Each push takes the next reply from `replies` (default "success"): a body string, or one of "hang" (wait
    until `release` is set), "500", "encrypted" (a wechatpy-encrypted text reply), "plain-reply".
    """

    url: str
    token: str = "Tok3n"
    aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    appid: str = fx.MP_APPID
    replies: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def config(self, mode: str, **extra: Any) -> dict[str, Any]:
        """The push-config JSON that points the simulator here."""
        return {"url": self.url, "token": self.token, "aes_key": self.aes_key, "mode": mode} | extra

    async def handle(self, request: web.Request) -> web.Response:
        """Receive one push the way a wechatpy server does."""
        query, body = dict(request.query), (await request.read()).decode("utf-8")
        if request.method == "GET":
            try:
                check_signature(self.token, query["signature"], query["timestamp"], query["nonce"])
            except InvalidSignatureException:
                return web.Response(status=403, text="bad signature")
            return web.Response(text=query["echostr"])
        try:
            check_signature(self.token, query["signature"], query["timestamp"], query["nonce"])
            xml = body
            if query.get("encrypt_type") == "aes":
                crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
                xml = crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
            self.received.append(Received(query, body, xml, parse_message(xml)))
        except Exception as exc:  # noqa: BLE001 - the test reads what went wrong
            self.errors.append(repr(exc))
            return web.Response(status=400, text=repr(exc))
        self.arrived.set()
        return await self._reply(self.replies.pop(0) if self.replies else "success")

    async def _reply(self, reply: str) -> web.Response:
        """Answer with the scripted reply."""
        if reply == "hang":
            await self.release.wait()
            return web.Response(text="success")
        if reply == "500":
            return web.Response(status=500, text="oops")
        message = self.received[-1].message
        if reply in ("encrypted", "plain-reply"):
            xml = TextReply(content="欢迎", message=message).render()
            if reply == "plain-reply":
                return web.Response(text=xml, content_type="text/xml")
            return web.Response(text=WeChatCrypto(self.token, self.aes_key, self.appid).encrypt_message(
                xml, "12345", "1700000000"), content_type="text/xml")
        return web.Response(text=reply)


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AsyncIterator[Receiver]:
    """A live official-account server for the simulator to push to."""
    app, receiver = web.Application(), Receiver(url="")
    app.router.add_route("*", "/wechat/mp/events", receiver.handle)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("/wechat/mp/events"))
    yield receiver
    receiver.release.set()


async def control(sim: Sim, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Call the control API; return (HTTP status, JSON)."""
    resp = await sim.client.request(method, f"/_sim/api/{path}", json=body)
    return resp.status, await resp.json()


async def cgi(sim: Sim, method: str, path: str, params: dict[str, str] | None = None, body: Any = None
              ) -> dict[str, Any]:
    """Call a /cgi-bin API; assert HTTP 200 and return its JSON."""
    resp = await sim.client.request(method, f"/cgi-bin/{path}", params=params or {}, json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json(content_type=None, encoding="utf-8")


async def mp_token(sim: Sim, appid: str = fx.MP_APPID, secret: str = fx.MP_SECRET) -> str:
    """Get an app access_token through /cgi-bin/token."""
    body = await cgi(sim, "GET", "token", {"grant_type": "client_credential", "appid": appid, "secret": secret})
    return body["access_token"]


async def new_param_qr(sim: Sim, scene: str = "login_k3F", expire_seconds: int = 300,
                       action: str = "QR_STR_SCENE") -> dict[str, Any]:
    """Create a parametric QR code through qrcode/create."""
    key = "scene_str" if action.endswith("STR_SCENE") else "scene_id"
    body = {"expire_seconds": expire_seconds, "action_name": action, "action_info": {"scene": {key: scene}}}
    return await cgi(sim, "POST", "qrcode/create", {"access_token": await mp_token(sim)}, body)
