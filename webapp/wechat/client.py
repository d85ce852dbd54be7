"""Async client for WeChat's /sns/* OAuth APIs, on an injected aiohttp session."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from webapp.clock import utcnow
from webapp.observability.wechat import wechat_call_logged
from webapp.text import clean_text
from webapp.wechat.errors import (
    AccessTokenExpired,
    AccessTokenInvalid,
    InvalidOpenid,
    MalformedResponse,
    RateLimited,
    WeChatAPIError,
    WeChatBusy,
    WeChatUnavailable,
)
from webapp.wechat.schemas import OAuthToken, WeChatApp, WeChatProfile

ACCESS_TOKEN_PATH = "/sns/oauth2/access_token"
REFRESH_TOKEN_PATH = "/sns/oauth2/refresh_token"
AUTH_PATH = "/sns/auth"
USERINFO_PATH = "/sns/userinfo"

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)

# Query parameters whose values must never appear in logs or exception messages.
_SENSITIVE_PARAMS = frozenset({"secret", "code", "access_token", "refresh_token"})
_RETRIED = (WeChatBusy, RateLimited)
_TOKEN_REJECTED = (AccessTokenExpired, AccessTokenInvalid, InvalidOpenid)

logger = logging.getLogger("webapp.wechat")

T = TypeVar("T")


class WeChatClient:
    """Stateless client for the OAuth code exchange, refresh, token check and profile APIs."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = http
        self._api_base = api_base.rstrip("/")
        self._timeout = timeout
        self._retry_delays = tuple(retry_delays)
        self._sleep = sleep
        self._now = now

    async def exchange_code(self, app: WeChatApp, code: str) -> OAuthToken:
        """Exchange an authorization code for tokens; never retried."""
        # A retry would burn the code (40163) even if the first attempt reached WeChat,
        # so a busy/timeout answer goes straight back to the caller, who restarts the login.
        issued_at = self._now()
        payload = await self._get_json(
            ACCESS_TOKEN_PATH,
            {"appid": app.appid, "secret": app.secret, "code": code, "grant_type": "authorization_code"},
        )
        return OAuthToken.from_payload(payload, now=issued_at)

    async def refresh(self, app: WeChatApp, refresh_token: str, *, openid: str | None = None) -> OAuthToken:
        """Refresh an access token (for `openid`, when given); retried while WeChat is busy or rate limited."""
        # WeChat does not need the secret here, so it is not sent.
        params = {"appid": app.appid, "grant_type": "refresh_token", "refresh_token": refresh_token}
        issued_at = self._now()
        payload = await self._with_retries(lambda: self._get_json(REFRESH_TOKEN_PATH, params))
        token = OAuthToken.from_payload(payload, now=issued_at)
        if openid is not None and token.openid != openid:
            raise MalformedResponse("refresh answered for another openid", path=REFRESH_TOKEN_PATH)
        return token

    async def user_info(self, access_token: str, openid: str, *, lang: str = "zh_CN") -> WeChatProfile:
        """Fetch the user's profile; retried while WeChat is busy or rate limited."""
        params = {"access_token": access_token, "openid": openid, "lang": lang}
        payload = await self._with_retries(lambda: self._get_json(USERINFO_PATH, params))
        profile = WeChatProfile.from_payload(payload)
        if profile.openid != openid:
            raise MalformedResponse("userinfo answered for another openid", path=USERINFO_PATH)
        return profile

    async def check_access_token(self, access_token: str, openid: str) -> bool:
        """Return whether WeChat still accepts this access token for this openid."""
        try:
            await self._get_json(AUTH_PATH, {"access_token": access_token, "openid": openid})
        except _TOKEN_REJECTED:
            return False
        return True

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        for delay in self._retry_delays:
            try:
                return await call()
            except _RETRIED as exc:
                logger.info("wechat %s errcode=%s: retrying in %.1fs", exc.path, exc.errcode, delay)
            await self._sleep(delay)
        return await call()

    async def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """GET a /sns/* path and return its JSON object, or raise a typed WeChatError; every call is logged once."""
        started = time.monotonic()
        try:
            payload = await self._fetch(path, params)
        except _Unusable as exc:
            wechat_call_logged(path, "transport", time.monotonic() - started, reason=exc.reason)
            raise WeChatUnavailable(exc.message, path=path) from exc.__cause__
        errcode = payload.get("errcode", 0)
        errmsg = clean_text(_redact(str(payload.get("errmsg", ""))[:500], params), 200) if errcode else ""
        try:
            code = 0 if errcode in (0, "0", None) else int(errcode)
        except (TypeError, ValueError, OverflowError):
            wechat_call_logged(path, "transport", time.monotonic() - started, reason="bad_errcode")
            raise WeChatUnavailable(f"errcode is not a number: {type(errcode).__name__}", path=path) from None
        wechat_call_logged(path, code, time.monotonic() - started, errmsg=errmsg)
        if code == 0:
            return payload
        raise WeChatAPIError.from_payload(code, errmsg, path=path)

    async def _fetch(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            async with self._http.get(
                self._api_base + path, params=params, timeout=self._timeout, allow_redirects=False
            ) as resp:
                body = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, ConnectionResetError) as exc:
            # Some aiohttp errors (ClientResponseError) put the full URL, query and all, in str().
            detail = _redact(str(exc), params)
            cause = exc if detail == str(exc) else _RedactedCause(f"{type(exc).__name__}: {detail}")
            message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            reason = "timeout" if isinstance(exc, asyncio.TimeoutError) else "connection"
            raise _Unusable(message, reason) from cause
        if status != 200:
            raise _Unusable(f"HTTP {status}", f"http_{status}")
        try:
            # /sns/* says text/plain with no charset while sending UTF-8; nicknames may hold
            # control characters, hence strict=False (as wechatpy does).
            payload = json.loads(body.decode("utf-8"), strict=False)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise _Unusable(f"body is not UTF-8 JSON ({type(exc).__name__})", "bad_json") from exc
        if not isinstance(payload, dict):
            raise _Unusable(f"body is a JSON {type(payload).__name__}, not an object", "not_object")
        return payload


class _Unusable(Exception):
    """No usable answer: the message for WeChatUnavailable, and a fixed word for logs and metrics."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


class _RedactedCause(Exception):
    """Stands in for a transport error whose text contained a secret, code or token."""


def _redact(text: str, params: Mapping[str, str]) -> str:
    """Replace every sensitive parameter value, raw or percent-encoded, with ***."""
    for key in _SENSITIVE_PARAMS & params.keys():
        value = params[key]
        if value:
            encoded = URL.build(query={"v": value}).raw_query_string[2:]
            for form in {value, encoded, quote(value, safe=""), quote_plus(value, safe="")}:
                text = text.replace(form, "***")
    return text

