"""Client of the mini program's two WeChat APIs, on the app's shared aiohttp session.

jscode2session (GET, appid + secret + js_code) and getuserphonenumber (POST JSON, the mini program's
interface token in the query). One chokepoint turns transport trouble and errcodes into `errors`;
answers come back as `schemas` values. No secret, code, token or session_key reaches a log line or an
exception message. Neither call is retried here: a retry of a consumed code only turns into 40029/40163.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from webapp.observability.wechat import wechat_call_logged
from webapp.wechat.appcall import fetch_object, loggable_errmsg
from webapp.wechat.errors import MalformedResponse
from webapp.wechat.mini.errors import MiniUnavailable, from_errcode
from webapp.wechat.mini.schemas import MiniSession, PhoneNumber, phone_from_payload
from webapp.wechat.schemas import WeChatApp

CODE2SESSION_PATH = "/sns/jscode2session"
PHONE_PATH = "/wxa/business/getuserphonenumber"


class MiniClient:
    """Stateless: the caller supplies the mini program and, for phone numbers, its interface token."""

    def __init__(self, http: aiohttp.ClientSession, *, api_base: str, timeout: aiohttp.ClientTimeout) -> None:
        self._http, self._base, self._timeout = http, api_base.rstrip("/"), timeout

    async def code_to_session(self, app: WeChatApp, js_code: str) -> MiniSession:
        """Exchange a wx.login code: openid, unionid (bound mini programs) and the session_key."""
        params = {"appid": app.appid, "secret": app.secret, "js_code": js_code, "grant_type": "authorization_code"}
        payload = await self._call("GET", CODE2SESSION_PATH, params=params, hidden=(app.secret, js_code))
        try:
            return MiniSession.from_payload(payload)
        except MalformedResponse as exc:
            raise MiniUnavailable(str(exc), path=CODE2SESSION_PATH) from None

    async def phone_number(self, app: WeChatApp, access_token: str, code: str) -> PhoneNumber:
        """Exchange a getPhoneNumber code for the number WeChat verified (E.164)."""
        payload = await self._call(
            "POST", PHONE_PATH, params={"access_token": access_token}, json_body={"code": code},
            hidden=(access_token, code),
        )
        try:
            return phone_from_payload(payload, appid=app.appid)
        except MalformedResponse as exc:
            raise MiniUnavailable(str(exc), path=PHONE_PATH) from None

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, str], json_body: Mapping[str, Any] | None = None,
        hidden: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """One request, logged and counted once; its JSON object back, else a typed error."""
        started = time.monotonic()
        try:
            payload = await self._fetch(method, path, params=params, json_body=json_body)
        except MiniUnavailable as exc:
            wechat_call_logged(path, "transport", time.monotonic() - started, reason=exc.errmsg)
            raise
        errcode = payload.get("errcode", 0)
        errmsg = loggable_errmsg(payload, hidden)
        if isinstance(errcode, bool) or not isinstance(errcode, int | None):
            wechat_call_logged(path, "transport", time.monotonic() - started, reason="bad_errcode")
            raise MiniUnavailable("errcode is not a number", path=path)
        wechat_call_logged(path, errcode or 0, time.monotonic() - started, errmsg=errmsg)
        if not errcode:
            return payload
        raise from_errcode(errcode, errmsg, path=path)

    async def _fetch(
        self, method: str, path: str, *, params: Mapping[str, str], json_body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return await fetch_object(
            self._http, method, self._base + path, path=path, params=params, json_body=json_body,
            timeout=self._timeout, unavailable=MiniUnavailable,
        )
