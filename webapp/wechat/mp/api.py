"""Client of the official account's cgi-bin APIs on the app's shared aiohttp session.

stable_token (JSON POST, normal mode unless told otherwise), qrcode/create (QR_STR_SCENE) and
user/info. One chokepoint turns transport trouble and errcodes into `errors`; answers come back as
frozen values. Neither the secret nor any token ever reaches a log line or an exception message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from webapp.observability.wechat import wechat_call_logged
from webapp.wechat.appcall import fetch_object, loggable_errmsg
from webapp.wechat.mp.errors import MpAPIError, MpUnavailable
from webapp.wechat.schemas import WeChatApp

STABLE_TOKEN_PATH = "/cgi-bin/stable_token"
QRCODE_CREATE_PATH = "/cgi-bin/qrcode/create"
USER_INFO_PATH = "/cgi-bin/user/info"


@dataclass(frozen=True)
class AppAccessToken:
    """The interface token and its remaining life."""

    access_token: str = field(repr=False)
    expires_in: int


@dataclass(frozen=True)
class QrTicket:
    """A temporary parametric QR code: `url` is what the QR encodes."""

    ticket: str
    url: str
    expire_seconds: int


@dataclass(frozen=True)
class Follower:
    """What user/info says about an openid of the official account."""

    openid: str
    unionid: str | None
    subscribed: bool


class MpApi:
    """Stateless client; the caller supplies the app and the interface token."""

    def __init__(self, http: aiohttp.ClientSession, *, api_base: str, timeout: aiohttp.ClientTimeout) -> None:
        self._http, self._base, self._timeout = http, api_base.rstrip("/"), timeout

    async def stable_token(self, app: WeChatApp, *, force_refresh: bool = False) -> AppAccessToken:
        """POST /cgi-bin/stable_token: the current interface token (a new one only with force_refresh)."""
        body = {
            "grant_type": "client_credential",
            "appid": app.appid,
            "secret": app.secret,
            "force_refresh": force_refresh,
        }
        payload = await self._call("POST", STABLE_TOKEN_PATH, json_body=body, hidden=(app.secret,))
        return AppAccessToken(_text(payload, "access_token"), _seconds(payload, "expires_in"))

    async def create_qr(self, access_token: str, *, scene: str, expire_seconds: int) -> QrTicket:
        """POST /cgi-bin/qrcode/create: a temporary QR_STR_SCENE code for `scene`."""
        body = {
            "expire_seconds": expire_seconds,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        payload = await self._call(
            "POST", QRCODE_CREATE_PATH, params={"access_token": access_token}, json_body=body, hidden=(access_token,)
        )
        url = _text(payload, "url")
        if not url.startswith(("http://", "https://")):
            raise MpUnavailable("qrcode/create: url is not http(s)", path=QRCODE_CREATE_PATH)
        expires = payload.get("expire_seconds", expire_seconds)
        return QrTicket(_text(payload, "ticket"), url, expires if isinstance(expires, int) else expire_seconds)

    async def user_info(self, access_token: str, openid: str) -> Follower:
        """GET /cgi-bin/user/info: follower state and, for bound accounts, the unionid."""
        params = {"access_token": access_token, "openid": openid, "lang": "zh_CN"}
        payload = await self._call("GET", USER_INFO_PATH, params=params, hidden=(access_token,))
        if _text(payload, "openid") != openid:
            raise MpUnavailable("user/info answered for another openid", path=USER_INFO_PATH)
        unionid = payload.get("unionid")
        return Follower(
            openid, unionid if isinstance(unionid, str) and unionid else None, payload.get("subscribe") == 1
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        hidden: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """One request, logged and counted (never its token); the JSON object back, else a typed error."""
        started = time.monotonic()
        try:
            payload = await self._fetch(method, path, params=params, json_body=json_body)
        except MpUnavailable as exc:
            wechat_call_logged(path, "transport", time.monotonic() - started, reason=exc.errmsg)
            raise
        errcode = payload.get("errcode") or 0
        errmsg = loggable_errmsg(payload, hidden)
        wechat_call_logged(
            path, errcode if isinstance(errcode, int) else "transport", time.monotonic() - started, errmsg=errmsg
        )
        if errcode == 0:
            return payload
        if not isinstance(errcode, int):
            raise MpUnavailable("errcode is not a number", path=path)
        raise MpAPIError.from_payload(errcode, errmsg, path=path)

    async def _fetch(
        self, method: str, path: str, *, params: Mapping[str, str] | None, json_body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return await fetch_object(
            self._http, method, self._base + path, path=path, params=params, json_body=json_body,
            timeout=self._timeout, unavailable=MpUnavailable,
        )


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise MpUnavailable(f"field {key!r} missing or not a string")
    return value


def _seconds(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MpUnavailable(f"field {key!r} missing or not a positive number")
    return value
